// Microsoft Entra ID's ways, in one place. Entra is the first IdP of the gateway, and it departs
// from plain SAML 2.0 in a few documented ways that the rest of the code must not have to know:
// - its login URL names the tenant (https://login.microsoftonline.com/<tenant>/saml2), and the
//   issuer of its assertions is derived from it: https://sts.windows.net/<tenant>/;
// - its logout messages are issued by https://login.microsoftonline.com/<tenant>/ instead;
// - it writes the Audience as `spn:<identifier>` when the application's identifier is not a URI;
// - it names claims with URIs (schemas.xmlsoap.org, schemas.microsoft.com).

/** A login or issuer URL of an Entra tenant (public or US government cloud). */
const ENTRA_TENANT_URL = /^https:\/\/(?:login\.microsoftonline\.(?:com|us)|sts\.windows\.net)\/([0-9a-f-]{36}|[^/]+\.onmicrosoft\.com)\//i

/** The tenant (GUID or *.onmicrosoft.com) an Entra login or issuer URL names; undefined for other IdPs. */
export function entraTenant (url: string): string | undefined {
  return ENTRA_TENANT_URL.exec(url)?.[1]
}

/** The issuers of a tenant: logins come from sts.windows.net, logout messages from login.microsoftonline.com. */
export function entraIssuers (tenant: string): string[] {
  return [`https://sts.windows.net/${tenant}/`, `https://login.microsoftonline.com/${tenant}/`]
}

/** An Audience as compared: Entra's `spn:` prefix removed. */
export function bareAudience (value: string): string {
  return value.startsWith('spn:') ? value.slice(4) : value
}

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/'
const MS_CLAIMS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/'
const MS_IDENTITY = 'http://schemas.microsoft.com/identity/claims/'

/** The attribute names Entra gives its claims in a SAML assertion. */
export const ENTRA_CLAIM = {
  email: `${CLAIMS}emailaddress`,
  name: `${CLAIMS}name`,
  givenName: `${CLAIMS}givenname`,
  surname: `${CLAIMS}surname`,
  displayName: `${MS_IDENTITY}displayname`,
  objectId: `${MS_IDENTITY}objectidentifier`,
  groups: `${MS_CLAIMS}groups`,
  role: `${MS_CLAIMS}role`,
  tenantId: `${MS_IDENTITY}tenantid`,
  identityProvider: `${MS_IDENTITY}identityprovider`,
  authnMethods: 'http://schemas.microsoft.com/claims/authnmethodsreferences'
} as const
