// A development IdP, built on samlify's IdentityProvider, that answers like Microsoft Entra ID:
// the assertion (not the response) signed with RSA-SHA256, the NameID an email address, Entra's
// claim URIs, InResponseTo on the Response and on SubjectConfirmationData, Recipient and
// Destination = the ACS, NotBefore = IssueInstant. Its entity ID is its own URL (GATEWAY_IDP_ISSUER
// tells the gateway). No passwords: pick a person from a list. Never expose it beyond loopback.
//
//   GET  /saml/sso       HTTP-Redirect AuthnRequest → "choose a user" form
//   POST /saml/login     the choice → signed SAMLResponse, auto-posted to the ACS
//   GET  /saml/initiate  IdP-initiated login (?user=alice&RelayState=/x), like Entra's "Test" button
//   GET  /saml/slo       HTTP-Redirect LogoutRequest → signed LogoutResponse back to the SP
//   GET  /saml/metadata  IdP metadata
import { randomUUID } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import samlify from 'samlify'
import { validateSchema } from '../src/sp/read/schema.js'
import { ENTRA_CLAIM } from '../src/sp/entra.js'
import { loadOrCreateSigningKey } from './idp-key.js'
import { closeServer, escapeHtml, guarded, listen, page, readForm, redirect, sendHtml } from './http.js'

// Demo only: samlify parses nothing until a schema validator is installed. The setting is
// process-wide and the demo runs the gateway in the same process, so rather than a validator that
// skips (which would silently weaken anything that ever parses through samlify there), the demo
// installs the gateway's own XSD validator. Today only the demo IdP parses with samlify: the
// gateway reads what it receives with src/sp.
samlify.setSchemaValidator({
  validate: async (xml: string) => {
    validateSchema(xml)
    return 'valid'
  }
})

const BINDING = samlify.Constants.namespace.binding
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'
export const DEMO_TENANT = '00000000-0000-4000-8000-00000000d3e0'

export interface DemoPerson { id: string, givenName: string, surname: string, email: string, oid: string, note?: string }

/** The IdP's directory. Motion's own users are the stand-in's business (demo/motion.ts). */
export const DEMO_PEOPLE: readonly DemoPerson[] = [
  { id: 'alice', givenName: 'Alice', surname: 'Agent', email: 'alice@contoso.example', oid: '5f1c2d3e-0a1b-4c5d-8e9f-a1b2c3d4e5f6' },
  { id: 'bob', givenName: 'Bob', surname: 'Supervisor', email: 'bob@contoso.example', oid: '6a2d3e4f-1b2c-4d6e-9fa0-b2c3d4e5f6a7' },
  { id: 'carol', givenName: 'Carol', surname: 'Multi', email: 'carol@contoso.example', oid: '7b3e4f5a-2c3d-4e7f-a0b1-c3d4e5f6a7b8', note: 'two Motion profiles' },
  { id: 'dave', givenName: 'Dave', surname: 'Nouser', email: 'dave@contoso.example', oid: '8c4f5a6b-3d4e-4f80-b1c2-d4e5f6a7b8c9', note: 'no Motion user' }
]

export interface DemoIdpOptions {
  port?: number
  host?: string
  spEntityId: string
  acsUrl: string
  sloUrl: string
  /** Where the signing key and certificate are kept (made on first start). */
  dataDir: string
}

export interface DemoIdp {
  url: string
  /** The IdP entity ID, `<url>/saml` (GATEWAY_IDP_ISSUER). */
  issuer: string
  /** XC_SAML_ENTRYPOINT */
  entryPoint: string
  /** XC_SAML_LOGOUT_URL */
  logoutUrl: string
  certPem: string
  /** Every request the IdP received, in order (tests count them). */
  requests: Array<{ method: string, path: string }>
  idpInitiatedUrl (userId: string, relayState?: string): string
  close (): Promise<void>
}

export async function startDemoIdp (opts: DemoIdpOptions): Promise<DemoIdp> {
  const host = opts.host ?? '127.0.0.1'
  const { key, cert } = await loadOrCreateSigningKey(opts.dataDir)
  const requests: DemoIdp['requests'] = []
  let idp: samlify.IdentityProviderInstance | undefined
  // The gateway as the IdP knows it (what an Entra admin types into the enterprise app).
  const sp = samlify.ServiceProvider({
    entityID: opts.spEntityId,
    wantAssertionsSigned: true, // → samlify signs the assertion only, as Entra does by default
    wantMessageSigned: false,
    wantLogoutResponseSigned: true,
    assertionConsumerService: [{ Binding: BINDING.post, Location: opts.acsUrl }],
    singleLogoutService: [{ Binding: BINDING.redirect, Location: opts.sloUrl }]
  })

  const server = createServer(guarded(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://idp.invalid')
    requests.push({ method: req.method ?? 'GET', path: url.pathname })
    const route = `${req.method} ${url.pathname}`
    if (idp === undefined) throw new Error('not ready')
    switch (route) {
      case 'GET /saml/sso': return await singleSignOn(idp, sp, opts, url, res)
      case 'POST /saml/login': return await login(idp, sp, opts, await readForm(req), res)
      case 'GET /saml/initiate': return await initiate(idp, sp, opts, url, res)
      case 'GET /saml/slo': return await singleLogout(idp, sp, url, res)
      case 'GET /saml/metadata':
        res.writeHead(200, { 'content-type': 'application/samlmetadata+xml; charset=utf-8' })
        res.end(idp.getMetadata())
        return
      case 'GET /saml/autopost.js':
        // The one script of the demo: submit the SAMLResponse form. Without JavaScript the
        // visible Continue button does the same.
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' })
        res.end("document.getElementById('saml-post').submit()\n")
        return
      case 'GET /':
        return sendHtml(res, 200, home(base))
      default:
        return sendHtml(res, 404, idpPage('Not found', `<p>Nothing at ${escapeHtml(url.pathname)}.</p>`))
    }
  }, 'Demo IdP'))

  const base = await listen(server, opts.port ?? 0, host, 'demo IdP (DEMO_IDP_PORT)')
  const issuer = `${base}/saml`
  idp = samlify.IdentityProvider({
    entityID: issuer,
    privateKey: key,
    signingCert: cert,
    requestSignatureAlgorithm: RSA_SHA256,
    nameIDFormat: [EMAIL_FORMAT],
    wantAuthnRequestsSigned: false,
    wantLogoutRequestSigned: false,
    singleSignOnService: [{ Binding: BINDING.redirect, Location: `${base}/saml/sso` }],
    singleLogoutService: [{ Binding: BINDING.redirect, Location: `${base}/saml/slo` }]
  })

  return {
    url: base,
    issuer,
    entryPoint: `${base}/saml/sso`,
    logoutUrl: `${base}/saml/slo`,
    certPem: cert,
    requests,
    idpInitiatedUrl (userId, relayState) {
      const query = new URLSearchParams({ user: userId })
      if (relayState !== undefined) query.set('RelayState', relayState)
      return `${base}/saml/initiate?${query.toString()}`
    },
    close: () => closeServer(server)
  }
}

/** AuthnRequest in, "choose a user" form out. Like Entra, the request's issuer and ACS must be registered. */
async function singleSignOn (idp: samlify.IdentityProviderInstance, sp: samlify.ServiceProviderInstance, opts: DemoIdpOptions, url: URL, res: ServerResponse): Promise<void> {
  let parsed: { extract: { issuer?: string, request?: { id?: string, assertionConsumerServiceUrl?: string } } }
  try {
    parsed = await idp.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(url.searchParams) }) as typeof parsed
  } catch (err) {
    return sendHtml(res, 400, idpPage('Sign-in request refused', `<p>The AuthnRequest could not be read: <code>${escapeHtml(String((err as Error).message ?? err))}</code></p>`))
  }
  const { issuer, request } = parsed.extract
  const problem = issuer !== opts.spEntityId
    ? `The application "${issuer ?? '(no issuer)'}" is not registered here; this IdP knows "${opts.spEntityId}" (Entra: AADSTS700016).`
    : request?.assertionConsumerServiceUrl !== undefined && request.assertionConsumerServiceUrl !== opts.acsUrl
      ? `The reply URL "${request.assertionConsumerServiceUrl}" is not "${opts.acsUrl}" (Entra: AADSTS50011).`
      : request?.id === undefined ? 'The AuthnRequest has no ID.' : undefined
  if (problem !== undefined) return sendHtml(res, 400, idpPage('Sign-in request refused', `<p>${escapeHtml(problem)}</p>`))
  sendHtml(res, 200, chooseUserPage({ inResponseTo: request!.id!, relayState: url.searchParams.get('RelayState') ?? undefined }))
}

async function login (idp: samlify.IdentityProviderInstance, sp: samlify.ServiceProviderInstance, opts: DemoIdpOptions, form: URLSearchParams, res: ServerResponse): Promise<void> {
  const person = DEMO_PEOPLE.find((p) => p.id === form.get('user'))
  if (person === undefined) return sendHtml(res, 400, idpPage('Unknown user', '<p>Choose one of the listed people.</p>'))
  const inResponseTo = form.get('InResponseTo') || undefined
  const samlResponse = await signedResponse(idp, sp, opts, person, inResponseTo)
  sendHtml(res, 200, autoPostPage(opts.acsUrl, samlResponse, form.get('RelayState') || undefined))
}

/** IdP-initiated: no AuthnRequest, so no InResponseTo. Without ?user=, a chooser that posts to /saml/login. */
async function initiate (idp: samlify.IdentityProviderInstance, sp: samlify.ServiceProviderInstance, opts: DemoIdpOptions, url: URL, res: ServerResponse): Promise<void> {
  const user = url.searchParams.get('user')
  const relayState = url.searchParams.get('RelayState') ?? undefined
  if (user === null) return sendHtml(res, 200, chooseUserPage({ relayState }))
  const form = new URLSearchParams({ user })
  if (relayState !== undefined) form.set('RelayState', relayState)
  return login(idp, sp, opts, form, res)
}

/** A LogoutRequest from the gateway: end "our" session (there is none) and answer Success to its SLO URL. */
async function singleLogout (idp: samlify.IdentityProviderInstance, sp: samlify.ServiceProviderInstance, url: URL, res: ServerResponse): Promise<void> {
  let parsed: Awaited<ReturnType<typeof idp.parseLogoutRequest>>
  try {
    // Unsigned in the demo (the gateway has no SP key), so samlify needs no octet string.
    parsed = await idp.parseLogoutRequest(sp, 'redirect', { query: Object.fromEntries(url.searchParams), octetString: '' })
  } catch (err) {
    return sendHtml(res, 400, idpPage('Sign-out request refused', `<p>The LogoutRequest could not be read: <code>${escapeHtml(String((err as Error).message ?? err))}</code></p>`))
  }
  const { context } = idp.createLogoutResponse(sp, parsed as never, 'redirect', { relayState: url.searchParams.get('RelayState') ?? undefined } as never) as { context: string }
  redirect(res, context)
}

const RESPONSE_TEMPLATE = '<samlp:Response ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">' +
  '<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{Issuer}</Issuer>' +
  '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
  '<Assertion ID="{AssertionID}" IssueInstant="{IssueInstant}" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion">' +
  '<Issuer>{Issuer}</Issuer>' +
  `<Subject><NameID Format="${EMAIL_FORMAT}">{NameID}</NameID>` +
  '<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
  '<SubjectConfirmationData InResponseTo="{InResponseTo}" NotOnOrAfter="{SubjectNotOnOrAfter}" Recipient="{Recipient}"/>' +
  '</SubjectConfirmation></Subject>' +
  '<Conditions NotBefore="{IssueInstant}" NotOnOrAfter="{ConditionsNotOnOrAfter}"><AudienceRestriction><Audience>{Audience}</Audience></AudienceRestriction></Conditions>' +
  '@@ATTRIBUTES@@' +
  '<AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><AuthnContext>' +
  '<AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef>' +
  '</AuthnContext></AuthnStatement></Assertion></samlp:Response>'

/** The base64 SAMLResponse. samlify fills nothing itself here: the template is ours, samlify signs the assertion. */
async function signedResponse (idp: samlify.IdentityProviderInstance, sp: samlify.ServiceProviderInstance, opts: DemoIdpOptions, person: DemoPerson, inResponseTo?: string): Promise<string> {
  const now = Date.now()
  const id = `_${randomUUID()}`
  const tags = {
    ID: id,
    AssertionID: `_${randomUUID()}`,
    IssueInstant: new Date(now).toISOString(),
    Destination: opts.acsUrl,
    Recipient: opts.acsUrl,
    Audience: opts.spEntityId,
    Issuer: idp.entityMeta.getEntityID(),
    NameID: person.email,
    InResponseTo: inResponseTo, // undefined drops both attributes (IdP-initiated)
    SubjectNotOnOrAfter: new Date(now + 5 * 60_000).toISOString(),
    ConditionsNotOnOrAfter: new Date(now + 60 * 60_000).toISOString(),
    SessionIndex: `_${randomUUID()}`
  }
  const { context } = await idp.createLoginResponse(sp, { extract: {} }, 'post', { email: person.email }, {
    customTagReplacement: () => ({
      id,
      context: samlify.SamlLib.replaceTagsByValue(RESPONSE_TEMPLATE, tags).replace('@@ATTRIBUTES@@', attributeStatement(person, tags.Issuer))
    })
  } as never) as { context: string }
  return context
}

function attributeStatement (person: DemoPerson, issuer: string): string {
  const claims: Array<[string, string]> = [
    [ENTRA_CLAIM.tenantId, DEMO_TENANT],
    [ENTRA_CLAIM.objectId, person.oid],
    [ENTRA_CLAIM.displayName, `${person.givenName} ${person.surname}`],
    [ENTRA_CLAIM.identityProvider, issuer],
    [ENTRA_CLAIM.authnMethods, 'http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password'],
    [ENTRA_CLAIM.email, person.email],
    [ENTRA_CLAIM.givenName, person.givenName],
    [ENTRA_CLAIM.surname, person.surname],
    [ENTRA_CLAIM.name, person.email]
  ]
  return `<AttributeStatement>${claims.map(([name, value]) =>
    `<Attribute Name="${escapeHtml(name)}"><AttributeValue>${escapeHtml(value)}</AttributeValue></Attribute>`).join('')}</AttributeStatement>`
}

const idpPage = (title: string, body: string): string => page({ title, body, accent: '#5c2d91', banner: 'Demo IdP — for development only' })

function home (base: string): string {
  const links = DEMO_PEOPLE.map((p) => `<li><a href="${escapeHtml(`${base}/saml/initiate?user=${p.id}`)}">Sign in to the application as ${escapeHtml(`${p.givenName} ${p.surname}`)}</a></li>`).join('\n')
  return idpPage('Demo IdP', `<p>Entity ID <code>${escapeHtml(base)}/saml</code>. IdP-initiated sign-in, like Entra's "Test" button:</p>\n<ul>\n${links}\n</ul>\n<p><a href="/saml/metadata">Metadata</a></p>`)
}

function chooseUserPage (opts: { inResponseTo?: string, relayState?: string }): string {
  const people = DEMO_PEOPLE.map((p) =>
    `<label><input type="radio" name="user" value="${escapeHtml(p.id)}" required> ${escapeHtml(`${p.givenName} ${p.surname}`)} <small>(${escapeHtml(p.email)}${p.note !== undefined ? `, ${escapeHtml(p.note)}` : ''})</small></label>`).join('\n')
  const hidden = [
    opts.inResponseTo !== undefined ? `<input type="hidden" name="InResponseTo" value="${escapeHtml(opts.inResponseTo)}">` : '',
    opts.relayState !== undefined ? `<input type="hidden" name="RelayState" value="${escapeHtml(opts.relayState)}">` : ''
  ].join('')
  return idpPage('Sign in', `<p>Pick who you are. This IdP asks for no password.</p>
<form method="post" action="/saml/login">
<fieldset><legend class="hint">People</legend>
${people}
</fieldset>
${hidden}<button type="submit">Sign in</button>
</form>`)
}

/** The HTTP-POST binding: a form to the ACS, submitted by /saml/autopost.js or by hand. */
function autoPostPage (acsUrl: string, samlResponse: string, relayState?: string): string {
  return page({
    title: 'Signing you in…',
    accent: '#5c2d91',
    scripts: ['/saml/autopost.js'],
    body: `<form id="saml-post" method="post" action="${escapeHtml(acsUrl)}">
<input type="hidden" name="SAMLResponse" value="${escapeHtml(samlResponse)}">
${relayState !== undefined ? `<input type="hidden" name="RelayState" value="${escapeHtml(relayState)}">\n` : ''}<p class="hint">Taking you back to the application.</p>
<button type="submit">Continue</button>
</form>`
  })
}
