// Hand the signed-in person to the upstream and answer the browser with what it said: its own
// answer relayed, the profile chooser, a refusal page, or a 502 page (the session stays).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { randomBytes } from 'node:crypto'
import { PATHS } from '../routes.js'
import type { SessionUser } from '../session/store.js'
import type { Profile } from '../upstream/handoff.js'
import type { Upstream } from '../upstream/upstream.js'
import { escapeHtml } from './pages.js'

export type AnswerWithHandoff = (request: FastifyRequest, reply: FastifyReply, user: SessionUser, opts: { returnTo?: string }) => Promise<FastifyReply>

export function handoffAnswerer ({ upstream, basePath }: { upstream: Upstream, basePath: string }): AnswerWithHandoff {
  return async function answerWithHandoff (request, reply, user, opts) {
    const result = await upstream.handOff({ sessionId: request.session.sessionId, user }, { returnTo: opts.returnTo, correlationId: request.id })
    request.log.info({ outcome: `upstream_${result.kind}`, status: 'status' in result ? result.status : undefined }, 'handoff')

    switch (result.kind) {
      case 'relay':
        reply.code(result.status)
        if (result.location !== undefined) reply.header('location', result.location)
        if (result.setCookie.length > 0) reply.header('set-cookie', result.setCookie)
        if (result.contentType !== undefined) reply.type(result.contentType)
        return reply.send(result.body)
      case 'choose':
        request.session.csrf = randomBytes(24).toString('base64url')
        request.session.profiles = result.profiles.map((p) => p.id)
        request.session.returnTo = opts.returnTo
        return reply.sendPage(200, {
          title: 'Choose a profile',
          message: `You are signed in as ${accountOf(user)}. This account opens several profiles: which one do you want to use now?`,
          bodyHtml: chooserForm(`${basePath}${PATHS.profile}`, request.session.csrf, result.profiles),
          hint: 'Not you? Sign out, then sign in with your own account.',
          action: { href: `${basePath}${PATHS.logout}`, label: 'Sign out' }
        })
      case 'refused':
        reply.errorCode = 'UPSTREAM_REFUSED'
        return reply.sendPage(403, {
          title: 'No access to the application',
          message: result.message ?? `You signed in as ${accountOf(user)}, but the application has no user for this account.`,
          hint: 'Ask your administrator to create your user, or sign out and use another account.',
          code: 'UPSTREAM_REFUSED',
          action: { href: `${basePath}${PATHS.logout}`, label: 'Sign out' }
        })
      case 'unavailable':
        reply.errorCode = 'UPSTREAM_UNAVAILABLE'
        request.log.error({ reason: result.reason, code: 'UPSTREAM_UNAVAILABLE' }, 'upstream did not answer the handoff')
        return reply.sendPage(502, {
          title: 'The application is not answering',
          message: 'You are signed in, but the application did not answer.',
          hint: 'Try again in a minute: you will not have to sign in again.',
          code: 'UPSTREAM_UNAVAILABLE',
          action: { href: `${basePath}${PATHS.start}?returnTo=${encodeURIComponent(opts.returnTo ?? '/')}`, label: 'Try again' }
        })
    }
  }
}

/** How the person is named on pages: the email the IdP sent, else the NameID. */
function accountOf (user: SessionUser): string {
  const email = user.claims.email
  return typeof email === 'string' && email !== '' ? email : user.nameId
}

function chooserForm (action: string, csrf: string, profiles: Profile[]): string {
  const options = profiles.map((p, i) => `<label><input type="radio" name="profile" value="${escapeHtml(p.id)}"${i === 0 ? ' checked' : ''} required> ${escapeHtml(p.label)}${p.role !== undefined && !p.label.includes(p.role) ? ` <small>(${escapeHtml(p.role)})</small>` : ''}</label>`).join('\n')
  return `<form method="post" action="${escapeHtml(action)}">
<fieldset><legend class="hint">Profiles</legend>
${options}
</fieldset>
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<button type="submit">Continue</button>
</form>`
}
