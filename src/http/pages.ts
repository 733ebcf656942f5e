// Every page a person can meet, from one template: plain, accessible, no scripts (CSP-friendly).
// Each says what happened, what to do, and the correlation id to quote to the help desk.

export interface PageAction { href: string, label: string }

export interface Page {
  title: string
  message: string
  hint?: string
  code?: string
  correlationId?: string
  action?: PageAction
  /** Already-escaped HTML placed after the message (the profile chooser's form). */
  bodyHtml?: string
}

export const PAGE_CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

export function renderPage (page: Page, stylesheetHref: string): string {
  const parts = [
    `<p>${escapeHtml(page.message)}</p>`,
    page.hint !== undefined ? `<p class="hint">${escapeHtml(page.hint)}</p>` : '',
    page.bodyHtml ?? '',
    page.action !== undefined ? `<p><a class="button" href="${escapeHtml(page.action.href)}">${escapeHtml(page.action.label)}</a></p>` : '',
    page.code !== undefined || page.correlationId !== undefined
      ? `<dl class="ref">${page.code !== undefined ? `<dt>Code</dt><dd><code>${escapeHtml(page.code)}</code></dd>` : ''}${page.correlationId !== undefined ? `<dt>Reference</dt><dd><code>${escapeHtml(page.correlationId)}</code></dd>` : ''}</dl>`
      : ''
  ]
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<link rel="stylesheet" href="${escapeHtml(stylesheetHref)}">
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
${parts.filter((p) => p !== '').join('\n')}
</main>
</body>
</html>
`
}

/**
 * The HTTP-POST binding's page: a form to the IdP that a small script of ours (script-src 'self')
 * submits at once; without JavaScript, the <noscript> button does it. Its CSP allows posting to
 * that origin only.
 */
export function renderAutoPost (form: { url: string, fields: Record<string, string> }, assets: { stylesheetHref: string, scriptHref: string }): string {
  const inputs = Object.entries(form.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`).join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Continuing to sign-in</title>
<link rel="stylesheet" href="${escapeHtml(assets.stylesheetHref)}">
<script src="${escapeHtml(assets.scriptHref)}" defer></script>
</head>
<body>
<main>
<form id="saml-post" method="post" action="${escapeHtml(form.url)}">
${inputs}
<h1>Continuing to sign-in…</h1>
<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form>
</main>
</body>
</html>
`
}

/** The Content-Security-Policy of the auto-post page: our script, and a form to the IdP's origin. */
export function autoPostCsp (url: string): string {
  return `default-src 'none'; style-src 'self'; script-src 'self'; form-action ${new URL(url).origin}; frame-ancestors 'none'; base-uri 'none'`
}

/** Submits the auto-post form; served from our origin so that no inline script is needed. */
export const AUTO_POST_SCRIPT = "document.getElementById('saml-post').submit()\n"

export const STYLESHEET = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; display: flex; min-height: 100vh; align-items: center; justify-content: center; background: #f3f5f8; color: #1d2733; }
main { max-width: 32rem; margin: 1rem; padding: 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.4rem; margin-top: 0; }
.hint { color: #4a5866; }
.button, button { display: inline-block; padding: .6rem 1.2rem; border: 0; border-radius: 4px; background: #0b5cad; color: #fff; text-decoration: none; font-size: 1rem; cursor: pointer; }
.button:focus, button:focus, input:focus { outline: 3px solid #f5a623; outline-offset: 2px; }
fieldset { border: 0; padding: 0; margin: 0 0 1rem; }
label { display: block; padding: .5rem; border: 1px solid #c8d1db; border-radius: 4px; margin: .4rem 0; cursor: pointer; }
.ref { font-size: .85rem; color: #4a5866; display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; }
.ref dd { margin: 0; }
@media (prefers-color-scheme: dark) { body { background: #141a21; color: #e4e9ee; } main { background: #1d2530; } .hint, .ref { color: #a9b6c3; } label { border-color: #3a4654; } }
`
