#!/usr/bin/python3
"""A small SAML IdP built on Lasso (Debian's python3-lasso, the library under mod_auth_mellon and
Authentic2), for the gateway's interop tests.

Started by test/interop/lasso.test.ts with Debian's interpreter:
    /usr/bin/python3 lasso-idp.py WORKDIR KEY CERT
It listens on a free loopback port, prints "LISTENING <port>" and serves:

    GET  /metadata            its metadata (entity ID, certificate, SSO and SLO, both bindings)
    POST /control             JSON {"sp_metadata": xml, "case": {...}}: trust that SP, set the case
    GET  /events              JSON list of what it received and what Lasso made of it
    GET  /sso/redirect        AuthnRequest, HTTP-Redirect (Lasso checks the query signature)
    POST /sso/post            AuthnRequest, HTTP-POST (Lasso checks the enveloped signature)
    GET  /idp-initiated       an unsolicited Response to the SP's ACS
    GET  /slo/redirect        LogoutRequest or LogoutResponse, HTTP-Redirect
    POST /slo/post            the same, HTTP-POST
    GET  /logout-initiate     IdP-initiated logout of the last session (?binding=redirect|post)

A "case": encrypt ("aes128", "aes256" or absent), sign_response (false: Lasso's signature hint
forbids the Response signature; the assertion is signed regardless), nameid (a format to force
when the request leaves it open).
Nothing here is a production IdP: there is no login form; every request signs in alice.
"""
import json
from datetime import datetime, timedelta, timezone
import sys
import traceback
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import lasso

WORKDIR, KEY, CERT = sys.argv[1], sys.argv[2], sys.argv[3]
B = "urn:oasis:names:tc:SAML:2.0:bindings:"
URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
ALICE = [  # (name, friendly name, value): eduPerson/inetOrgPerson OIDs, as Authentic2 and Shibboleth send them
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail", "alice@example.org"),
    ("urn:oid:2.5.4.42", "givenName", "Alice"),
    ("urn:oid:2.5.4.4", "sn", "Example"),
    ("urn:oid:2.16.840.1.113730.3.1.241", "displayName", "Alice Example"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "uid", "alice"),
]
STATE = {"events": [], "case": {}, "sp": None, "identity": None, "session": None}


def metadata(base):
    cert = "".join(l for l in open(CERT).read().splitlines() if "-----" not in l)
    formats = "".join("<NameIDFormat>%s</NameIDFormat>" % f for f in (
        lasso.SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT, lasso.SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT,
        lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL, lasso.SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED))
    return (
        '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%(base)s/metadata">'
        '<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="true">'
        '<KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%(cert)s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>'
        '<SingleLogoutService Binding="%(b)sHTTP-Redirect" Location="%(base)s/slo/redirect"/>'
        '<SingleLogoutService Binding="%(b)sHTTP-POST" Location="%(base)s/slo/post"/>'
        '%(formats)s'
        '<SingleSignOnService Binding="%(b)sHTTP-Redirect" Location="%(base)s/sso/redirect"/>'
        '<SingleSignOnService Binding="%(b)sHTTP-POST" Location="%(base)s/sso/post"/>'
        '</IDPSSODescriptor></EntityDescriptor>') % {"base": base, "cert": cert, "b": B, "formats": formats}


def make_server(sp_metadata, case):
    server = lasso.Server.newFromBuffers(STATE["metadata"], open(KEY).read(), None, open(CERT).read())
    server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
    if sp_metadata:
        server.addProviderFromBuffer(lasso.PROVIDER_ROLE_SP, sp_metadata)
        STATE["sp"] = lasso.Provider.newFromBuffer(lasso.PROVIDER_ROLE_SP, sp_metadata).providerId
        if case.get("encrypt"):
            provider = server.getProvider(STATE["sp"])
            provider.setEncryptionMode(lasso.ENCRYPTION_MODE_ASSERTION)
            provider.setEncryptionSymKeyType(lasso.ENCRYPTION_SYM_KEY_TYPE_AES_256 if case["encrypt"] == "aes256" else lasso.ENCRYPTION_SYM_KEY_TYPE_AES_128)
    return server


def event(kind, **fields):
    STATE["events"].append(dict(kind=kind, **fields))


def with_dumps(profile):
    if STATE["identity"]:
        profile.setIdentityFromDump(STATE["identity"])
    if STATE["session"]:
        profile.setSessionFromDump(STATE["session"])
    return profile


def keep_dumps(profile):
    if profile.isIdentityDirty:
        STATE["identity"] = profile.identity.dump() if profile.identity else None
    if profile.isSessionDirty:
        STATE["session"] = profile.session.dump() if profile.session else None


def text_value(value):
    node = lasso.MiscTextNode.newWithString(value)
    node.textChild = True
    attribute_value = lasso.Saml2AttributeValue()
    attribute_value.any = [node]
    return attribute_value


def attribute_statement():
    attributes = []
    for name, friendly, value in ALICE:
        attribute = lasso.Saml2Attribute()
        attribute.name, attribute.friendlyName, attribute.nameFormat = name, friendly, URI
        attribute.attributeValue = [text_value(value)]
        attributes.append(attribute)
    statement = lasso.Saml2AttributeStatement()
    statement.attribute = attributes
    return statement


def finish_login(login):
    case = STATE["case"]
    login.validateRequestMsg(True, True)
    # As Authentic2 does: the instant, a session end, and a five-minute validity window (which Lasso
    # puts on the Conditions and on the bearer SubjectConfirmationData).
    now = datetime.now(timezone.utc)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    login.buildAssertion(lasso.SAML2_AUTHN_CONTEXT_PASSWORD_PROTECTED_TRANSPORT, iso(now), iso(now + timedelta(hours=8)),
                         iso(now), iso(now + timedelta(minutes=5)))
    name_id = login.assertion.subject.nameID
    if name_id.format in (lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL, lasso.SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED):
        name_id.content = "alice@example.org" if name_id.format == lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL else "alice"
    login.assertion.attributeStatement = [attribute_statement()]
    if case.get("sign_response") is False:
        login.setSignatureHint(lasso.PROFILE_SIGNATURE_HINT_FORBID)
    login.buildAuthnResponseMsg()
    keep_dumps(login)
    event("login", name_id=name_id.dump(), session_index=login.assertion.authnStatement[0].sessionIndex)
    return post_form(login.msgUrl, "SAMLResponse", login.msgBody, login.msgRelayState)


def sso(method, raw_query, form):
    login = with_dumps(lasso.Login(STATE["server"]))
    login.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)  # unsigned or badly signed: an error
    if method == "GET":
        login.processAuthnRequestMsg(raw_query)  # the signature over the query string as received
    else:
        login.processAuthnRequestMsg(form["SAMLRequest"])
        login.msgRelayState = form.get("RelayState")
    policy = login.request.nameIdPolicy
    event("authn_request", binding=method, signed=True, id=login.request.id,
          name_id_policy_format=policy.format if policy else None, allow_create=policy.allowCreate if policy else None)
    if policy and STATE["case"].get("nameid") and policy.format in (None, lasso.SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED):
        policy.format = STATE["case"]["nameid"]
    return finish_login(login)


def idp_initiated(query):
    login = with_dumps(lasso.Login(STATE["server"]))
    login.initIdpInitiatedAuthnRequest(STATE["sp"])
    login.request.nameIdPolicy.format = STATE["case"].get("nameid") or lasso.SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT
    login.request.nameIdPolicy.allowCreate = True
    login.request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
    if query.get("RelayState"):
        login.msgRelayState = query["RelayState"]
    login.processAuthnRequestMsg(None)
    return finish_login(login)


def slo(method, raw_query, form):
    message = form if method == "POST" else {k: v[0] for k, v in parse_qs(raw_query).items()}
    logout = with_dumps(lasso.Logout(STATE["server"]))
    logout.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
    if "SAMLResponse" in message:
        status = None
        try:
            logout.processResponseMsg(raw_query if method == "GET" else form["SAMLResponse"])
        except lasso.Error as err:  # a non-Success status is an error too; the status is still read
            event("logout_response_error", binding=method, error="%s: %s" % (type(err).__name__, err))
        if logout.response is not None and logout.response.status is not None:
            status = logout.response.status.statusCode.value
        keep_dumps(logout)
        event("logout_response", binding=method, status=status, signed=True)
        return {"status": 200, "type": "text/plain", "data": "IdP: logout answered: %s" % status}
    logout.processRequestMsg(raw_query if method == "GET" else form["SAMLRequest"])
    if method == "POST":
        logout.msgRelayState = form.get("RelayState")
    name_id = logout.request.nameId.dump()
    try:
        logout.validateRequest()  # Lasso's strong NameID match against the session it issued
        matched = True
    except lasso.Error as err:
        matched = False
        event("logout_request_refused", error="%s: %s" % (type(err).__name__, err))
    event("logout_request", binding=method, signed=True, name_id=name_id, matched=matched)
    logout.buildResponseMsg()
    keep_dumps(logout)
    if logout.msgBody:
        return post_form(logout.msgUrl, "SAMLResponse", logout.msgBody, logout.msgRelayState)
    return {"redirect": logout.msgUrl}


def initiate_logout(binding):
    logout = with_dumps(lasso.Logout(STATE["server"]))
    logout.initRequest(STATE["sp"], lasso.HTTP_METHOD_POST if binding == "post" else lasso.HTTP_METHOD_REDIRECT)
    logout.msgRelayState = "/after-idp-logout"
    logout.buildRequestMsg()
    event("logout_initiated", binding=binding, id=logout.request.id)
    if logout.msgBody:
        return post_form(logout.msgUrl, "SAMLRequest", logout.msgBody, logout.msgRelayState)
    return {"redirect": logout.msgUrl}


def post_form(url, name, value, relay_state):
    relay = '<input type="hidden" name="RelayState" value="%s"/>' % escape(relay_state) if relay_state else ""
    return {"status": 200, "type": "text/html", "data": (
        '<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="%s">'
        '<input type="hidden" name="%s" value="%s"/>%s<noscript><button type="submit">Continue</button></noscript>'
        '</form></body></html>') % (escape(url), name, escape(value), relay)}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, info):
        data = (info.get("data") or "").encode("utf-8")
        self.send_response(302 if "redirect" in info else info.get("status", 200))
        if "redirect" in info:
            self.send_header("Location", info["redirect"])
        self.send_header("Content-Type", info.get("type", "text/plain"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json(self, value, status=200):
        self.answer({"status": status, "type": "application/json", "data": json.dumps(value)})

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")

    def route(self, method):
        url = urlparse(self.path)
        form = {k: v[0] for k, v in parse_qs(self.body()).items()} if method == "POST" and url.path != "/control" else {}
        if method == "GET" and url.path == "/metadata":
            return self.answer({"type": "application/samlmetadata+xml", "data": STATE["metadata"]})
        if method == "GET" and url.path == "/events":
            return self.json(STATE["events"])
        if method == "POST" and url.path == "/control":
            body = json.loads(self.body())
            STATE["case"] = body.get("case", {})
            STATE["server"] = make_server(body["sp_metadata"], STATE["case"])
            STATE.update(events=[], identity=None, session=None)
            return self.json({"ok": True})
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        routes = {
            ("GET", "/sso/redirect"): lambda: sso("GET", url.query, form),
            ("POST", "/sso/post"): lambda: sso("POST", url.query, form),
            ("GET", "/idp-initiated"): lambda: idp_initiated(query),
            ("GET", "/slo/redirect"): lambda: slo("GET", url.query, form),
            ("POST", "/slo/post"): lambda: slo("POST", url.query, form),
            ("GET", "/logout-initiate"): lambda: initiate_logout(query.get("binding", "redirect")),
        }
        handler = routes.get((method, url.path))
        if handler is None:
            return self.json({"error": "not found"}, 404)
        try:
            return self.answer(handler())
        except Exception as err:  # the test reads the event; the browser sees a 400
            event("error", path=url.path, error="%s: %s" % (type(err).__name__, err), trace=traceback.format_exc())
            return self.json({"error": str(err)}, 400)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = "http://127.0.0.1:%d" % httpd.server_address[1]
    STATE["metadata"] = metadata(base)
    STATE["server"] = make_server(None, {})
    print("LISTENING %d" % httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
