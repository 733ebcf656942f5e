#!/usr/bin/python3
"""A small SAML IdP built on pysaml2's own Server, for the gateway's interop tests.

Started by test/interop/pysaml2.test.ts with Debian's interpreter:
    /usr/bin/python3 pysaml2-idp.py WORKDIR KEY CERT
It listens on a free loopback port, prints "LISTENING <port>" and serves:

    GET  /metadata            its metadata (entity ID, certificate, SSO and SLO, both bindings)
    POST /control             JSON {"sp_metadata": xml, "case": {...}}: trust that SP, set the case
    GET  /events              JSON list of what it received and whether pysaml2 verified it
    GET  /sso/redirect        AuthnRequest, HTTP-Redirect (query signature checked when present)
    POST /sso/post            AuthnRequest, HTTP-POST (XML signature checked when present)
    GET  /idp-initiated       an unsolicited Response to the SP's ACS
    GET  /slo/redirect        LogoutRequest or LogoutResponse, HTTP-Redirect
    POST /slo/post            the same, HTTP-POST
    GET  /logout-initiate     IdP-initiated logout of the last session (?binding=redirect|post)

A "case" says how it answers: sign_response, sign_assertion, encrypt_assertion, name_form ("uri",
"basic"), nameid ("email", "persistent", "transient"), require_signed (refuse unsigned requests),
slo_binding ("redirect", "post"). Not a production IdP: no login form; every request is alice.
"""
import base64
import json
import os
import sys
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import saml2.assertion
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml
from saml2.config import IdPConfig
from saml2.ident import code as code_name_id
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_BASIC, NAME_FORMAT_URI, NameID
from saml2.samlp import Status, StatusCode
from saml2.server import Server
from saml2.sigver import verify_redirect_signature

WORKDIR, KEY, CERT = sys.argv[1], sys.argv[2], sys.argv[3]
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
NAMEID = {
    "email": saml.NAMEID_FORMAT_EMAILADDRESS,
    "persistent": saml.NAMEID_FORMAT_PERSISTENT,
    "transient": saml.NAMEID_FORMAT_TRANSIENT,
    "unspecified": saml.NAMEID_FORMAT_UNSPECIFIED,
}
ALICE = {
    "mail": ["alice@example.org"],
    "givenName": ["Alice"],
    "sn": ["Example"],
    "displayName": ["Alice Example"],
    "uid": ["alice"],
    "eduPersonPrincipalName": ["alice@example.org"],
}

STATE = {"server": None, "sp": None, "case": {}, "events": [], "sessions": []}


def make_server(base, sp_metadata_file, case):
    name_form = NAME_FORMAT_BASIC if case.get("name_form") == "basic" else NAME_FORMAT_URI
    conf = IdPConfig()
    conf.load({
        "entityid": base + "/metadata",
        "service": {"idp": {
            "endpoints": {
                "single_sign_on_service": [(base + "/sso/redirect", BINDING_HTTP_REDIRECT),
                                           (base + "/sso/post", BINDING_HTTP_POST)],
                "single_logout_service": [(base + "/slo/redirect", BINDING_HTTP_REDIRECT),
                                          (base + "/slo/post", BINDING_HTTP_POST)],
            },
            "name_id_format": list(NAMEID.values()),
            "policy": {"default": {"lifetime": {"minutes": 15}, "name_form": name_form}},
            # Redirect-binding signatures are checked below with pysaml2's verify_redirect_signature;
            # this setting would demand an XML signature inside the deflated request too.
            "want_authn_requests_signed": False,
        }},
        "key_file": KEY,
        "cert_file": CERT,
        "metadata": {"local": [sp_metadata_file]} if sp_metadata_file else {},
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "signing_algorithm": RSA_SHA256,
        "digest_algorithm": SHA256,
        "delete_tmpfiles": True,
    })
    return Server(config=conf)


def event(kind, **fields):
    STATE["events"].append(dict(kind=kind, **fields))


def the_sp():
    """The one SP this IdP trusts: entity ID, ACS and SLO endpoints from its metadata."""
    server = STATE["server"]
    entity_id = list(server.metadata.with_descriptor("spsso").keys())[0]
    acs = server.metadata.assertion_consumer_service(entity_id, BINDING_HTTP_POST)[0]["location"]
    slo = {}
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        found = server.metadata.single_logout_service(entity_id, binding, "spsso")
        if found:
            slo[binding] = found[0]["location"]
    return entity_id, acs, slo


def sp_cert():
    entity_id = the_sp()[0]
    certs = STATE["server"].metadata.certs(entity_id, "spsso", "signing")
    return "".join(certs[0].split()) if certs else None


def name_id_for(case, sp_entity_id, requested_format=None):
    kind = case.get("nameid") or next((k for k, v in NAMEID.items() if v == requested_format), "email")
    issuer = STATE["server"].config.entityid
    if kind == "email":
        return NameID(format=NAMEID["email"], text="alice@example.org")
    if kind == "persistent":
        return NameID(format=NAMEID["persistent"], text="p-7d3f0c1e9a", name_qualifier=issuer, sp_name_qualifier=sp_entity_id)
    if kind == "transient":
        return NameID(format=NAMEID["transient"], text="_t" + uuid.uuid4().hex, name_qualifier=issuer, sp_name_qualifier=sp_entity_id)
    return NameID(format=NAMEID["unspecified"], text="alice")


def login_response(in_response_to, relay_state, requested_format=None):
    server, case = STATE["server"], STATE["case"]
    sp_entity_id, acs, _ = the_sp()
    name_id = name_id_for(case, sp_entity_id, requested_format)
    session_index = "_s" + uuid.uuid4().hex
    # pysaml2 draws the SessionIndex from saml2.assertion.sid(); this IdP must know it for logout.
    saml2.assertion.sid = lambda: session_index
    response = server.create_authn_response(
        dict(ALICE), in_response_to, acs, sp_entity_id,
        name_id=name_id,
        authn={"class_ref": saml.AUTHN_PASSWORD_PROTECTED, "authn_instant": None},
        sign_response=bool(case.get("sign_response")),
        sign_assertion=bool(case.get("sign_assertion", True)),
        encrypt_assertion=bool(case.get("encrypt_assertion")),
        encrypt_assertion_self_contained=True,
        sign_alg=RSA_SHA256, digest_alg=SHA256,
    )
    STATE["sessions"].append({"name_id": name_id, "session_index": session_index, "sp": sp_entity_id})
    event("login", name_id=code_name_id(name_id), in_response_to=in_response_to)
    return server.apply_binding(BINDING_HTTP_POST, str(response), acs, relay_state or "", response=True)


def check_redirect_signature(query, require):
    """pysaml2's own check of a query-string signature, with the SP's certificate from its metadata."""
    if "Signature" not in query:
        if require:
            raise ValueError("unsigned message refused")
        return False
    if not verify_redirect_signature(query, STATE["server"].sec.sec_backend, cert=sp_cert()):
        raise ValueError("bad query signature")
    return True


def sso(query, binding):
    server = STATE["server"]
    signed = check_redirect_signature(query, STATE["case"].get("require_signed")) if binding == BINDING_HTTP_REDIRECT else None
    request = server.parse_authn_request(query["SAMLRequest"], binding)
    if binding == BINDING_HTTP_POST:
        signed = b"SignatureValue" in base64.b64decode(query["SAMLRequest"])  # verified by parse_authn_request
        if STATE["case"].get("require_signed") and not signed:
            raise ValueError("unsigned AuthnRequest refused")
    message = request.message
    policy = message.name_id_policy
    event("authn_request", binding=binding, signed=signed, id=message.id,
          name_id_policy_format=policy.format if policy else None,
          allow_create=policy.allow_create if policy else None,
          force_authn=message.force_authn)
    return login_response(message.id, query.get("RelayState"), policy.format if policy else None)


def slo(query, binding):
    server, case = STATE["server"], STATE["case"]
    require = case.get("require_signed")
    if binding == BINDING_HTTP_REDIRECT:
        signed = check_redirect_signature(query, require and "SAMLRequest" in query)
    else:  # pysaml2 verifies an enveloped signature when there is one
        signed = b"SignatureValue" in base64.b64decode(query.get("SAMLRequest") or query["SAMLResponse"])
        if require and "SAMLRequest" in query and not signed:
            raise ValueError("unsigned LogoutRequest refused")
    sp_entity_id, _, slo_urls = the_sp()
    if "SAMLResponse" in query:
        response = server.parse_logout_request_response(query["SAMLResponse"], binding)
        status = response.response.status.status_code.value
        event("logout_response", binding=binding, signed=signed, in_response_to=response.response.in_response_to, status=status)
        return {"status": 200, "headers": [("Content-type", "text/plain")], "data": "IdP: logout answered: " + status}
    request = server.parse_logout_request(query["SAMLRequest"], binding)
    message = request.message
    matched = [s for s in STATE["sessions"] if code_name_id(s["name_id"]) == code_name_id(message.name_id)]
    status = "urn:oasis:names:tc:SAML:2.0:status:Success" if matched else "urn:oasis:names:tc:SAML:2.0:status:Requester"
    for s in matched:
        STATE["sessions"].remove(s)
    event("logout_request", binding=binding, signed=signed, name_id=code_name_id(message.name_id),
          session_index=[s.text for s in message.session_index], matched=bool(matched))
    reply_binding = BINDING_HTTP_POST if case.get("slo_binding") == "post" else BINDING_HTTP_REDIRECT
    response = server.create_logout_response(message, [reply_binding], status=saml_status(status),
                                              sign=reply_binding == BINDING_HTTP_POST, sign_alg=RSA_SHA256, digest_alg=SHA256)
    return server.apply_binding(reply_binding, str(response), slo_urls[reply_binding], query.get("RelayState", ""),
                                response=True, sign=True, sigalg=RSA_SHA256)


def saml_status(value):
    return Status(status_code=StatusCode(value=value))


def initiate_logout(binding_name):
    server = STATE["server"]
    session = STATE["sessions"][-1]
    _, _, slo_urls = the_sp()
    binding = BINDING_HTTP_POST if binding_name == "post" else BINDING_HTTP_REDIRECT
    request_id, request = server.create_logout_request(
        slo_urls[binding], server.config.entityid, name_id=session["name_id"],
        session_indexes=[session["session_index"]], sign=binding == BINDING_HTTP_POST,
        sign_alg=RSA_SHA256, digest_alg=SHA256)
    event("logout_initiated", binding=binding, id=request_id)
    return server.apply_binding(binding, str(request), slo_urls[binding], "/after-idp-logout", sign=True, sigalg=RSA_SHA256)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, info):
        headers = info.get("headers", [])
        redirect = any(name == "Location" for name, _ in headers)
        self.send_response(302 if redirect else info.get("status", 200))
        for name, value in headers:
            self.send_header(name, value)
        data = info.get("data") or ""
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json(self, value, status=200):
        self.answer({"status": status, "headers": [("Content-type", "application/json")], "data": json.dumps(value)})

    def query(self):
        return {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}

    def form(self):
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}

    def route(self, method):
        path = urlparse(self.path).path
        if method == "GET" and path == "/metadata":
            return self.answer({"headers": [("Content-type", "application/samlmetadata+xml")], "data": STATE["metadata"]})
        if method == "GET" and path == "/events":
            return self.json(STATE["events"])
        if method == "POST" and path == "/control":
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            sp_file = os.path.join(WORKDIR, "sp-metadata.xml")
            with open(sp_file, "w") as f:
                f.write(body["sp_metadata"])
            STATE["case"] = body.get("case", {})
            STATE["server"] = make_server(STATE["base"], sp_file, STATE["case"])
            STATE["events"], STATE["sessions"] = [], []
            return self.json({"ok": True})
        routes = {
            ("GET", "/sso/redirect"): lambda: sso(self.query(), BINDING_HTTP_REDIRECT),
            ("POST", "/sso/post"): lambda: sso(self.form(), BINDING_HTTP_POST),
            ("GET", "/idp-initiated"): lambda: login_response(None, self.query().get("RelayState")),
            ("GET", "/slo/redirect"): lambda: slo(self.query(), BINDING_HTTP_REDIRECT),
            ("POST", "/slo/post"): lambda: slo(self.form(), BINDING_HTTP_POST),
            ("GET", "/logout-initiate"): lambda: initiate_logout(self.query().get("binding", "redirect")),
        }
        handler = routes.get((method, path))
        if handler is None:
            return self.json({"error": "not found"}, 404)
        try:
            return self.answer(handler())
        except Exception as err:  # the test reads the event; the browser sees a 400
            event("error", path=path, error="%s: %s" % (type(err).__name__, err), trace=traceback.format_exc())
            return self.json({"error": str(err)}, 400)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = "http://127.0.0.1:%d" % httpd.server_address[1]
    STATE["base"] = base
    STATE["server"] = make_server(base, None, {})
    STATE["metadata"] = str(entity_descriptor(STATE["server"].config))
    print("LISTENING %d" % httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
