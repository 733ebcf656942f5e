// The HTTP-POST binding's page in a real browser: with JavaScript it posts the AuthnRequest to the
// IdP by itself (its script comes from the gateway, as the page's CSP allows, and the CSP lets the
// form go to the IdP's origin); without JavaScript, the person presses Continue.
import t from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { buildTestApp, tempDir } from '../helpers/app.js'
import { POST, idpMetadataXml } from '../helpers/idp-metadata.js'
import { CHROMIUM, INSTALL_HINT, launchChromium } from './_chromium.js'

if (!existsSync(CHROMIUM)) {
  if (process.env.CI !== undefined) t.fail(`not installed: ${CHROMIUM}. Install with: ${INSTALL_HINT}`)
  else t.comment(`skipped: ${CHROMIUM} is not installed (${INSTALL_HINT})`)
} else {
  t.test('the auto-post page reaches the IdP with and without JavaScript', async (t) => {
    const received: Array<Record<string, string>> = []
    let arrived: (() => void) | undefined
    const idp = createServer((req, res) => {
      if (req.method !== 'POST') { res.writeHead(404).end(); return } // the browser's favicon
      readForm(req).then((form) => {
        received.push(form)
        res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>IdP login</h1>')
        arrived?.()
      }, () => res.writeHead(400).end())
    })
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve))
    t.teardown(() => idp.close())
    const sso = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/sso`
    const file = join(tempDir(t), 'idp.xml')
    writeFileSync(file, idpMetadataXml({ entityId: 'https://idp.example.org', sso: [[POST, sso]] }))

    const { app } = await buildTestApp(t, { env: { XC_SAML_ENTRYPOINT: undefined, XC_SAML_CERT: undefined, GATEWAY_IDP_METADATA_FILE: file, GATEWAY_PUBLIC_URL: 'http://127.0.0.1' }, now: Date.now() })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const login = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/auth/saml?returnTo=/agent`

    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const withJs = await (await browser.newContext()).newPage()
    const violations: string[] = []
    withJs.on('console', (m: { text: () => string }) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()) })
    await Promise.all([new Promise<void>((resolve) => { arrived = resolve }), withJs.goto(login)])
    t.equal(received.length, 1, 'posted by itself')
    t.match(Buffer.from(received[0].SAMLRequest, 'base64').toString(), /<samlp:AuthnRequest /)
    await withJs.waitForSelector('text=IdP login')
    t.same(violations, [], 'no CSP violation')

    const withoutJs = await (await browser.newContext({ javaScriptEnabled: false })).newPage()
    await withoutJs.goto(login)
    t.equal(received.length, 1, 'nothing posted without the script')
    t.ok(await withoutJs.isVisible('button:has-text("Continue")'), 'a Continue button instead')
    await Promise.all([new Promise<void>((resolve) => { arrived = resolve }), withoutJs.click('button:has-text("Continue")')])
    t.equal(received.length, 2, 'posted by the button')
    t.match(Buffer.from(received[1].SAMLRequest, 'base64').toString(), /<samlp:AuthnRequest /)
  })
}

async function readForm (req: IncomingMessage): Promise<Record<string, string>> {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  return Object.fromEntries(new URLSearchParams(body))
}
