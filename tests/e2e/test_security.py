"""Security over HTTP (issue 5): JWT authentication and the 401/403
decisions, scoped writers, auth.read = authenticated, rate limiting with
Retry-After and trusted proxies, input limits and a storm of bad requests
that leaves the store unchanged, CORS on and off, security headers, the
OpenAPI document, and secrets kept out of logs, config show and /metrics.

Tokens are minted here: HS256 with hmac, RS256/RS512 with `openssl dgst
-sign` over the test-only keys in tests/fixtures/jwt."""

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import time
import unittest

from harness import SOURCE_DIR, Server, ServerTestCase, run_cli

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "jwt")
ISSUER = "https://lms.test/oauth2"
OTHER_ISSUER = "https://other.test/oauth2"
SECRET = "e2e-secret-0123456789-abcdefghij-KLMNOP"
SECRET_ENV = "JWT_E2E_SECRET"


def fixture(name):
    return os.path.join(FIXTURES, name)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def claims(**extra):
    now = int(time.time())
    c = {"iss": ISSUER, "aud": "catalogd", "sub": "svc-publisher", "iat": now, "exp": now + 600}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def hs256(payload, secret=SECRET, header=None):
    head = segment(header or {"alg": "HS256", "typ": "JWT"})
    body = segment(payload)
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    sig = hmac.new(key, ("%s.%s" % (head, body)).encode("ascii"), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64url(sig))


def rsa(payload, alg="RS256", key="rsa_a.key.pem", kid="key-a"):
    header = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = "%s.%s" % (segment(header), segment(payload))
    digest = {"RS256": "-sha256", "RS512": "-sha512"}[alg]
    out = subprocess.run(["openssl", "dgst", digest, "-sign", fixture(key), "-binary"],
                         input=signing_input.encode("ascii"), capture_output=True, check=True)
    return "%s.%s" % (signing_input, b64url(out.stdout))


def bearer(token, scheme="JWT"):
    return {"Authorization": "%s %s" % (scheme, token)}


STAFF = claims(administrator=True)
PLAIN = claims(sub="learner-1")


def auth_settings(tmpdir, **extra):
    """One inline issuer (HS256 from the environment and a JWK set) and a
    second issuer from an issuers file (RSA key b)."""
    issuers = os.path.join(tmpdir, "issuers.json")
    with open(issuers, "w", encoding="utf-8") as f:
        json.dump([{"ISSUER": OTHER_ISSUER, "AUDIENCE": ["other-aud", "catalogd"],
                    "PUBLIC_KEY_FILE": fixture("rsa_b.pub.pem")}], f)
    s = {"auth.issuer": ISSUER, "auth.audience": "catalogd, catalogd-extra",
         "auth.hs256_secret": "env:" + SECRET_ENV, "auth.jwks_file": fixture("jwks.json"),
         "auth.issuers_file": issuers, "log.file": os.path.join(tmpdir, "serve.log"),
         "log.level": "debug"}
    s.update(extra)
    return s


class AuthServerCase(ServerTestCase):
    extra_settings = {}

    @classmethod
    def setUpClass(cls):
        cls.logdir = __import__("tempfile").TemporaryDirectory(prefix="catalogd-e2e-sec-")
        cls.server_options = {"settings": auth_settings(cls.logdir.name, **cls.extra_settings),
                              "env": {SECRET_ENV: SECRET}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.logdir.cleanup()

    def assert401(self, r, invalid_token=True):
        self.assertDRFError(r, 401)
        challenge = r.header("WWW-Authenticate") or ""
        self.assertTrue(challenge.startswith("Bearer realm=\"catalogd\""), r.headers)
        if invalid_token:
            self.assertIn('error="invalid_token"', challenge)

    def log_text(self):
        with open(os.path.join(self.logdir.name, "serve.log"), encoding="utf-8",
                  errors="replace") as f:
            return f.read()


class Tokens(AuthServerCase):
    def test_valid_tokens_read(self):
        for name, token in (("HS256", hs256(PLAIN)), ("RS256", rsa(PLAIN)),
                            ("RS512 key-b", rsa(PLAIN, "RS512", "rsa_b.key.pem", "key-b")),
                            ("second issuer", rsa(claims(iss=OTHER_ISSUER, aud="other-aud"),
                                                  key="rsa_b.key.pem", kid=None))):
            for scheme in ("JWT", "Bearer"):
                r = self.api("GET", "organizations/", headers=bearer(token, scheme))
                self.assertEqual(r.status, 200, "%s %s: %r" % (name, scheme, r))
                self.assertEqual(r.header("Cache-Control"), "no-store", name)

    def test_bad_tokens_are_401(self):
        now = int(time.time())
        with open(fixture("rsa_a.pub.pem"), "rb") as f:
            public_pem = f.read()
        valid = hs256(STAFF)
        head, body, sig = valid.split(".")
        cases = {
            "expired": hs256(claims(administrator=True, exp=now - 3600)),
            "no exp": hs256(claims(exp=None)),
            "not yet valid": hs256(claims(nbf=now + 3600)),
            "wrong signature": hs256(STAFF, secret="another-secret-0123456789-abcdef"),
            "tampered payload": "%s.%s.%s" % (head, segment(claims(sub="root",
                                                                   administrator=True)), sig),
            "alg none": "%s.%s." % (segment({"alg": "none", "typ": "JWT"}), segment(STAFF)),
            "HS256 with the RSA public PEM": hs256(STAFF, secret=public_pem,
                                                   header={"alg": "HS256", "kid": "key-a"}),
            "RS256 signed by an unlisted key": rsa(STAFF, key="rsa_b.key.pem", kid="key-a"),
            "wrong issuer": hs256(claims(iss="https://evil.test/oauth2", administrator=True)),
            "wrong audience": hs256(claims(aud="someone-else", administrator=True)),
            "unknown kid": rsa(STAFF, kid="no-such-key"),
            "malformed base64": "%s.%s.%s" % (head, body[:-2] + "!!", sig),
            "two segments": "%s.%s" % (head, body),
            "huge": hs256(claims(pad="x" * 20000)),
            "not JSON": "%s.%s.%s" % (b64url(b"{not json"), body, sig),
        }
        for name, token in cases.items():
            r = self.api("GET", "organizations/", headers=bearer(token))
            self.assert401(r)
            self.assertNotIn(token[-20:], r.body.decode("utf-8", "replace"), name)
            # Writes refuse them the same way.
            w = self.api("POST", "organizations/", body={"key": "BadTok", "name": "x"},
                         headers=bearer(token))
            self.assert401(w)
        for header in ("Basic dXNlcjpwYXNz", "Bearer opaque-oauth-token", "JWT", "JWT a b"):
            r = self.api("GET", "organizations/", headers={"Authorization": header})
            self.assert401(r)
        self.assertEqual(self.api("GET", "organizations/BadTok/").status, 404)

    def test_writes_need_staff_or_scope(self):
        org = {"key": "SecX", "name": "Security"}
        r = self.api("POST", "organizations/", body=org)
        self.assert401(r, invalid_token=False)
        self.assertEqual(r.json["detail"], "Authentication credentials were not provided.")
        r = self.api("POST", "organizations/", body=org, headers=bearer(hs256(PLAIN)))
        self.assertDRFError(r, 403)
        self.assertEqual(r.json["detail"], "You do not have permission to perform this action.")
        # "administrator": "true" (a string) is not staff.
        r = self.api("POST", "organizations/", body=org,
                     headers=bearer(hs256(claims(administrator="true"))))
        self.assertDRFError(r, 403)
        r = self.api("POST", "organizations/", body=org,
                     headers=bearer(hs256(claims(scopes=["catalog:read"]))))
        self.assertDRFError(r, 403)
        self.assertEqual(self.api("GET", "organizations/SecX/").status, 404)

        r = self.api("POST", "organizations/", body=org, headers=bearer(hs256(STAFF)))
        self.assertEqual(r.status, 201, r)
        scoped = bearer(rsa(claims(sub="svc-writer", scopes="catalog:read catalog:write"), "RS512"))
        r = self.api("PATCH", "organizations/SecX/", body={"name": "Scoped"}, headers=scoped)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.get_json("organizations/SecX/")["name"], "Scoped")
        r = self.api("DELETE", "organizations/SecX/", headers=bearer(hs256(PLAIN)))
        self.assertDRFError(r, 403)
        r = self.api("DELETE", "organizations/SecX/", headers=bearer(rsa(STAFF)))
        self.assertEqual(r.status, 204, r)

    def test_cache_keeps_staff_and_public_apart(self):
        # Warm the public entry, then a staff read must not be served it
        # and a public read must not be served the staff one.
        anon = self.api("GET", "courses/")
        anon2 = self.api("GET", "courses/")
        self.assertEqual(anon2.header("X-Cache"), "hit")
        staff = self.api("GET", "courses/", headers=bearer(hs256(STAFF)))
        self.assertEqual(staff.header("X-Cache"), "miss")
        self.assertGreaterEqual(staff.json["count"], anon.json["count"])
        self.assertEqual(self.api("GET", "courses/").body, anon.body)

    def test_secrets_stay_out_of_logs_metrics_and_config_show(self):
        token = hs256(STAFF)
        bad = hs256(claims(exp=1))
        self.api("GET", "organizations/", headers=bearer(token))
        self.api("GET", "organizations/", headers=bearer(bad))
        self.api("POST", "organizations/", body={"key": "x"}, headers=bearer(bad))
        metrics = self.server.request("GET", "/metrics").body.decode("utf-8", "replace")
        deadline = time.monotonic() + 5
        log = self.log_text()
        while "/api/v1/organizations/" not in log and time.monotonic() < deadline:
            time.sleep(0.2)  # the access log is flushed at least every second
            log = self.log_text()
        self.assertIn("/api/v1/organizations/", log)
        for text, where in ((log, "log"), (metrics, "/metrics"),
                            (self.server.stderr_text(), "stderr")):
            for secret in (SECRET, token, token.split(".")[2], bad.split(".")[2]):
                self.assertNotIn(secret, text, where)
        # config show: the secret spec and a literal secret print as ***.
        for value in ("env:" + SECRET_ENV, SECRET):
            r = run_cli(["config", "show", "--set", "auth.hs256_secret=" + value])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn(SECRET, r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"auth\.hs256_secret = \*\*\* ")
        # A secret that is too short is refused without being echoed.
        r = run_cli(["config", "check", "--set", "auth.issuer=" + ISSUER,
                     "--set", "auth.hs256_secret=short-Secret9"])
        self.assertNotIn("short-Secret9", r.stdout + r.stderr)


class ReadAuthenticated(AuthServerCase):
    extra_settings = {"auth.read": "authenticated"}

    def test_reads_need_a_token(self):
        r = self.api("GET", "courses/")
        self.assert401(r, invalid_token=False)
        self.assertEqual(self.api("GET", "courses/", headers=bearer(hs256(PLAIN))).status, 200)
        # The cached answer for a token holder is not handed to anonymous callers.
        self.assertEqual(self.api("GET", "courses/", headers=bearer(hs256(PLAIN))).status, 200)
        self.assert401(self.api("GET", "courses/"), invalid_token=False)
        self.assert401(self.api("GET", "courses/", headers=bearer(hs256(claims(exp=1)))))
        # However the path is spelled, and for unknown paths too.
        for path in ("//api/v1/courses/", "/./api/v1/courses/", "/api//v1/courses/",
                     "/api/v1/../v1/courses/", "/no-such-thing"):
            self.assert401(self.server.request("GET", path), invalid_token=False)
        # Probes stay open, even with a bad token.
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)
        self.assertEqual(self.server.request("GET", "/healthz",
                                             headers=bearer("x.y.z")).status, 200)
        self.assertEqual(self.server.request("GET", "/readyz").status, 200)


class RateLimit(unittest.TestCase):
    def start(self, **settings):
        s = {"ratelimit.anonymous_rate": "1", "ratelimit.anonymous_burst": "5",
             "ratelimit.authenticated_rate": "1", "ratelimit.authenticated_burst": "5",
             "auth.issuer": ISSUER, "auth.hs256_secret": "env:" + SECRET_ENV}
        s.update(settings)
        server = Server(settings=s, env={SECRET_ENV: SECRET}, rate_limit=True)
        self.addCleanup(server.cleanup)
        return server.start()

    def exhaust(self, server, headers=None):
        statuses = [server.api("GET", "subjects/", headers=headers) for _ in range(8)]
        return [r.status for r in statuses], statuses

    def test_on_by_default(self):
        r = run_cli(["config", "show"])
        self.assertRegex(r.stdout, r"ratelimit\.enabled = true")
        self.assertRegex(r.stdout, r"ratelimit\.anonymous_rate = 50 ")

    def test_burst_gets_429_others_unaffected(self):
        server = self.start()
        codes, responses = self.exhaust(server)
        self.assertEqual(codes[:5], [200] * 5, codes)
        self.assertIn(429, codes[5:])
        limited = [r for r in responses if r.status == 429][0]
        self.assertRegex(limited.json["detail"],
                         r"^Request was throttled\. Expected available in \d+ seconds\.$")
        self.assertGreaterEqual(int(limited.header("Retry-After")), 1)
        # A token holder is another caller; probes are never throttled.
        self.assertEqual(server.api("GET", "subjects/", headers=bearer(hs256(PLAIN))).status, 200)
        self.assertEqual(server.request("GET", "/healthz").status, 200)
        # X-Forwarded-For from an untrusted peer is ignored.
        r = server.api("GET", "subjects/", headers={"X-Forwarded-For": "203.0.113.9"})
        self.assertEqual(r.status, 429)
        # Another subject has its own bucket.
        codes, _ = self.exhaust(server, bearer(hs256(claims(sub="other-user"))))
        self.assertEqual(codes[:5], [200] * 5, codes)
        self.assertIn(429, codes[5:])

    def test_trusted_proxy_names_the_client(self):
        server = self.start(**{"ratelimit.trusted_proxies": "127.0.0.1/32"})
        codes, _ = self.exhaust(server, {"X-Forwarded-For": "198.51.100.1"})
        self.assertIn(429, codes)
        codes, _ = self.exhaust(server, {"X-Forwarded-For": "198.51.100.2"})
        self.assertEqual(codes[:5], [200] * 5, codes)
        # A client that forges the left part does not escape its bucket.
        r = server.api("GET", "subjects/", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.1"})
        self.assertEqual(r.status, 429)

    def test_can_be_turned_off(self):
        server = self.start(**{"ratelimit.enabled": "false"})
        codes, _ = self.exhaust(server)
        self.assertEqual(codes, [200] * 8)


class InputLimits(AuthServerCase):
    extra_settings = {"server.max_body_bytes": "4K", "server.max_url_bytes": "2K"}

    def staff(self):
        return bearer(hs256(STAFF))

    def post(self, body, content_type="application/json"):
        h = self.staff()
        if content_type:
            h["Content-Type"] = content_type
        return self.api("POST", "organizations/", body=body, headers=h)

    def bad_requests(self):
        deep = "[" * 40 + "]" * 40
        return [
            (413, self.post(json.dumps({"key": "Big", "name": "x" * 8000}))),
            (414, self.api("GET", "courses/", params={"q": "x" * 3000})),
            (400, self.post('{"key": "Trail", "name": "x"} garbage')),
            (400, self.post(b'{"key": "Utf", "name": "\xff\xfe"}')),
            (400, self.post('{"key": "Dup", "name": "a", "name": "b"}')),
            (400, self.post('{"key": "Deep", "name": "x", "extra": %s}' % deep)),
            (400, self.post('{"key": 12, "name": "x"}')),
            (400, self.post('{"key": "NotObj"')),
            (400, self.post('["key"]')),
            (415, self.post('{"key": "Ct", "name": "x"}', "text/plain")),
            (415, self.post('{"key": "Ct", "name": "x"}', None)),
            (400, self.api("GET", "courses/", params="page=abc")),
            (401, self.api("POST", "organizations/", body={"key": "A", "name": "b"},
                           headers={"Authorization": "JWT " + "a" * 5000})),
        ]

    def test_each_limit_has_its_status(self):
        for want, r in self.bad_requests():
            self.assertEqual(r.status, want, r)
            self.assertIsInstance(r.json, dict, r)
            self.assertIn("nosniff", r.header("X-Content-Type-Options") or "")

    def test_brackets_inside_strings_are_not_nesting(self):
        r = self.post('{"key": "BracketX", "name": "%s"}' % ("[{" * 40))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.get_json("organizations/BracketX/")["name"], "[{" * 40)
        r = self.api("DELETE", "organizations/BracketX/", headers=self.staff())
        self.assertEqual(r.status, 204, r)

    def test_huge_headers_refused(self):
        r = self.server.raw(b"GET /api/v1/courses/ HTTP/1.1\r\nHost: x\r\nX-Big: " +
                            b"a" * 100000 + b"\r\n\r\n")
        status = int(r.split(b" ", 2)[1]) if r.startswith(b"HTTP/1.1 ") else 0
        self.assertTrue(400 <= status < 500 or r == b"", r[:200])
        self.assertHealthy()

    def test_storm_leaves_store_unchanged(self):
        before = self.server.cli("export")
        self.assertEqual(before.returncode, 0, before.stderr)
        for _ in range(5):
            self.bad_requests()
            for raw in (b"GARBAGE\r\n\r\n", b"GET /" + b"%" * 50 + b" HTTP/1.1\r\n\r\n",
                        b"POST /api/v1/organizations/ HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"):
                try:
                    self.server.raw(raw, timeout=5)
                except (socket.timeout, OSError):
                    pass
        self.assertHealthy()
        self.assertEqual(self.api("GET", "organizations/").status, 200)
        after = self.server.cli("export")
        self.assertEqual(after.stdout, before.stdout)


class Headers(ServerTestCase):
    server_options = {"settings": {"server.cors_origins": "https://studio.test, https://b.test"}}

    def test_security_headers_everywhere(self):
        for r in (self.api("GET", "courses/"), self.api("GET", "nope/"),
                  self.api("POST", "organizations/", body={"key": "a"}),
                  self.server.request("GET", "/healthz")):
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff", r)
            self.assertEqual(r.header("Content-Security-Policy"),
                             "default-src 'none'; frame-ancestors 'none'", r)
            self.assertEqual(r.header("Referrer-Policy"), "no-referrer", r)
        self.assertEqual(self.api("GET", "nope/").header("Cache-Control"), "no-store")

    def test_long_targets_get_json_414_with_default_limits(self):
        # server.max_url_bytes (16K) sits well inside libmicrohttpd's
        # connection memory (server.max_header_bytes, 32K), so targets up to
        # nearly all of it get catalogd's JSON 414, not the library's HTML.
        for n in (16500, 24000, 31000):
            r = self.api("GET", "courses/", params={"q": "x" * n})
            self.assertEqual(r.status, 414, (n, r))
            self.assertIsInstance(r.json, dict, (n, r))
            self.assertIn("16384 bytes", r.json["detail"])
        # Under the limit the request is judged on its own (q this long is
        # a 400 of its own), not refused for its length.
        self.assertNotEqual(self.api("GET", "courses/", params={"q": "x" * 15000}).status, 414)

    def test_cors_allowed_origin(self):
        r = self.api("GET", "courses/", headers={"Origin": "https://b.test"})
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://b.test")
        self.assertIn("Origin", r.header("Vary") or "")
        r = self.api("OPTIONS", "courses/", headers={
            "Origin": "https://studio.test", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://studio.test")
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
        self.assertIn("default-src 'none'", r.header("Content-Security-Policy"))
        self.assertIn("POST", r.header("Access-Control-Allow-Methods"))
        self.assertIn("Authorization", r.header("Access-Control-Allow-Headers"))

    def test_cors_other_origin_gets_nothing(self):
        r = self.api("GET", "courses/", headers={"Origin": "https://evil.test"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        r = self.api("OPTIONS", "courses/", headers={
            "Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
        self.assertNotEqual(r.status, 204)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))


class OpenAPI(ServerTestCase):
    def test_document_served_and_complete(self):
        r = self.api("GET", "openapi.json")
        self.assertEqual(r.status, 200, r)
        doc = r.json
        self.assertEqual(doc["openapi"], "3.0.3")
        self.assertEqual(doc["components"]["securitySchemes"]["jwt"]["bearerFormat"], "JWT")
        for path in ("/api/v1/courses/", "/api/v1/courses/{key}/", "/api/v1/search/all/",
                     "/api/v1/openapi.json", "/healthz"):
            self.assertIn(path, doc["paths"])
        self.assertEqual(sorted(doc["paths"]["/api/v1/courses/{key}/"]),
                         ["delete", "get", "patch", "put"])
        # Every documented GET is served (a 404 for a made-up key is a
        # served route; "Not found." for an unknown path would be too, so
        # compare with a path no route has).
        unknown = self.server.request("GET", "/api/v1/no-such-route/")
        self.assertEqual(unknown.status, 404)
        for path, item in doc["paths"].items():
            self.assertTrue(all(op.get("summary") for op in item.values()), path)
            if "get" not in item or "{" in path:
                continue
            required = {p["name"]: "a" for p in item["get"]["parameters"]
                        if p["in"] == "query" and p["required"]}
            r = self.server.request("GET", path, params=required)
            self.assertIn(r.status, (200, 503), "%s: %r" % (path, r))


class CorsOff(ServerTestCase):
    def test_no_cors_headers_by_default(self):
        r = self.api("GET", "courses/", headers={"Origin": "https://studio.test"})
        self.assertEqual(r.status, 200)
        for h in ("Access-Control-Allow-Origin", "Vary"):
            self.assertIsNone(r.header(h), h)
        r = self.api("OPTIONS", "courses/", headers={
            "Origin": "https://studio.test", "Access-Control-Request-Method": "GET"})
        self.assertNotEqual(r.status, 204)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))


if __name__ == "__main__":
    unittest.main()
