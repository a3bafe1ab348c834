"""Every error status answers a DRF-shaped JSON body, and the server keeps
serving after each one, hostile inputs included."""

import http.client
import unittest

from harness import ServerTestCase

MAX_BODY = 4096


class Errors(ServerTestCase):
    server_options = {"writes": True, "clock_now": "2026-06-01T00:00:00Z",
                      "settings": {"server.max_body_bytes": str(MAX_BODY)}}

    def tearDown(self):
        # After every case, whatever it sent, the server still answers.
        self.assertHealthy()

    def assertNot5xx(self, r, what):
        self.assertLess(r.status, 500, "%s: %r" % (what, r))

    # -- 400 ------------------------------------------------------------------

    def test_bad_flag_names_the_parameter(self):
        for path in ("courses/", "course_runs/", "programs/"):
            r = self.api("GET", path, {"marketable": "abc"})
            self.assertDRFError(r, 400, "marketable")
        self.assertDRFError(self.api("GET", "course_runs/", {"active": "yes please"}), 400,
                            "active")
        self.assertDRFError(self.api("GET", "course_runs/", {"hidden": "2x"}), 400, "hidden")

    def test_bad_page_parameters(self):
        for params, field in (({"page": "abc"}, "page"), ({"page": "0"}, "page"),
                              ({"page": "-1"}, "page"), ({"page_size": "abc"}, "page_size"),
                              ({"page_size": "-5"}, "page_size"), ({"page_size": "0"}, "page_size"),
                              ({"limit": "x"}, "limit"),
                              ({"limit": "5", "offset": "-3"}, "offset"),
                              ({"limit": "5", "offset": "x"}, "offset")):
            self.assertDRFError(self.api("GET", "courses/", params), 400, field)

    def test_unknown_program_status(self):
        self.assertDRFError(self.api("GET", "programs/", {"status": "bogus"}), 400, "status")

    def post_raw(self, path, data, content_type="application/json"):
        return self.api("POST", path, body=data, headers={"Content-Type": content_type})

    def test_malformed_json(self):
        for data in (b"{", b"{\"key\": }", b"not json", b"", b"{\"key\":\"A\"} trailing"):
            r = self.post_raw("organizations/", data)
            self.assertDRFError(r, 400)
        self.assertDRFError(self.api("GET", "organizations/A/"), 404)

    def test_invalid_utf8(self):
        r = self.post_raw("organizations/", b'{"key": "Bad\xff\xfeX", "name": "x"}')
        self.assertDRFError(r, 400)
        r = self.post_raw("organizations/", b'{"key": "OverlongX", "name": "\xc0\xaf"}')
        self.assertDRFError(r, 400)

    def test_duplicate_json_keys(self):
        r = self.post_raw("organizations/", b'{"key": "DupX", "name": "a", "name": "b"}')
        self.assertDRFError(r, 400)
        self.assertDRFError(self.api("GET", "organizations/DupX/"), 404)

    def test_wrong_types(self):
        for body, field in (({"key": 7, "name": "x"}, "key"),
                            ({"key": "TypeX", "name": ["x"]}, "name"),
                            ({"key": "TypeX", "name": "x", "tags": "a,b"}, "tags")):
            self.assertDRFError(self.api("POST", "organizations/", body=body), 400, field)
        r = self.api("POST", "organizations/", body=[{"key": "ListX", "name": "x"}])
        self.assertEqual(r.status, 400, r)
        self.assertIsInstance(r.json, dict)
        self.assertDRFError(self.api("POST", "organizations/", body={"name": "no key"}), 400, "key")

    # -- 404 / 405 / 409 / 413 / 415 --------------------------------------------

    def test_404(self):
        for path in ("/api/v1/courses/Nope+Nothing/", "/api/v1/nothing/", "/nothing",
                     "/api/v1/course_runs/course-v1:No+Such+Run/", "/api/v2/courses/"):
            r = self.server.request("GET", path)
            self.assertDRFError(r, 404)
        self.assertEqual(self.api("GET", "courses/Nope+Nothing/").json, {"detail": "Not found."})

    def assertAllow(self, r, *methods):
        self.assertDRFError(r, 405)
        allow = r.header("Allow")
        self.assertIsNotNone(allow, "405 without Allow: %r" % r.headers)
        got = {m.strip().upper() for m in allow.split(",")}
        for m in methods:
            self.assertIn(m, got, allow)

    def test_405_with_allow(self):
        r = self.api("DELETE", "courses/")
        self.assertAllow(r, "GET", "POST")
        self.assertNotIn("DELETE", r.header("Allow").upper())
        self.assertAllow(self.api("PUT", "organizations/"), "GET", "POST")
        self.assertAllow(self.api("POST", "courses/AldenX+CS101/"), "GET", "PUT", "PATCH",
                         "DELETE")
        r = self.server.request("POST", "/healthz", body=b"{}",
                                headers={"Content-Type": "application/json"})
        self.assertAllow(r, "GET")
        self.assertAllow(self.server.request("DELETE", "/metrics"), "GET")

    def test_409(self):
        r = self.api("POST", "organizations/", body={"key": "AldenX", "name": "Twice"})
        self.assertDRFError(r, 409)
        self.assertEqual(self.get_json("organizations/AldenX/")["name"], "Alden University")

    def test_413_body_over_max(self):
        big = {"key": "BigX", "name": "x", "description": "d" * (MAX_BODY * 2)}
        r = self.api("POST", "organizations/", body=big)
        self.assertDRFError(r, 413)
        self.assertDRFError(self.api("GET", "organizations/BigX/"), 404)
        # Just under the limit is fine.
        fits = {"key": "FitsX", "name": "x", "description": "d" * (MAX_BODY - 200)}
        self.assertEqual(self.api("POST", "organizations/", body=fits).status, 201)
        self.assertEqual(self.api("DELETE", "organizations/FitsX/").status, 204)

    def test_413_declared_length_over_max(self):
        # A Content-Length far over the limit is refused without reading the body.
        reply = self.server.raw(
            b"POST /api/v1/organizations/ HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n"
            b"Connection: close\r\n\r\n{", timeout=5)
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:200])

    def test_415_wrong_content_type(self):
        body = b'{"key": "CtX", "name": "x"}'
        for ct in ("text/plain", "application/x-www-form-urlencoded",
                   "application/json; charset=latin-1"):
            self.assertDRFError(self.post_raw("organizations/", body, ct), 415)
        r = self.api("POST", "organizations/", body=body)  # no Content-Type at all
        self.assertDRFError(r, 415)
        r = self.api("PATCH", "organizations/AldenX/", body=b'{"name": "x"}',
                     headers={"Content-Type": "text/plain"})
        self.assertDRFError(r, 415)
        self.assertDRFError(self.api("GET", "organizations/CtX/"), 404)
        self.assertEqual(self.post_raw("organizations/", body,
                                       "application/json; charset=utf-8").status, 201)
        self.assertEqual(self.api("DELETE", "organizations/CtX/").status, 204)

    # -- hostile inputs -----------------------------------------------------------

    def test_very_long_paths(self):
        for n in (5000, 60000):
            try:
                r = self.server.request("GET", "/api/v1/courses/" + "A" * n + "/")
            except (OSError, http.client.HTTPException):
                continue  # the connection may be dropped; the server must survive it
            self.assertIn(r.status, (400, 404, 414, 431), r)
        r = self.api("GET", "courses/", {"keys": ",".join("K%d+X" % i for i in range(5000))})
        self.assertNot5xx(r, "5000 keys")
        self.assertIn(r.status, (200, 400, 414, 431), r)

    def test_percent_garbage_in_query(self):
        for query in ("page=%zz", "keys=%", "keys=%2", "marketable=%G1", "%%%%=%%", "=&&=&",
                      "page_size=%FF%FE", "keys=%E2%82", "q=%C0%AF"):
            r = self.server.request("GET", "/api/v1/courses/?" + query)
            self.assertNot5xx(r, query)
            self.assertIsInstance(r.json, dict, query)

    def test_nul_bytes(self):
        for path in ("/api/v1/courses/?keys=AldenX%2BCS101%00", "/api/v1/courses/AldenX%00/",
                     "/api/v1/courses/?page=1%00", "/api/v1/course_runs/%00/",
                     "/api/v1/courses/?%00=1"):
            r = self.server.request("GET", path)
            self.assertNot5xx(r, path)
            self.assertIsInstance(r.json, dict, path)
        r = self.server.request("GET", "/api/v1/courses/?page=1%00")
        self.assertDRFError(r, 400, "page")
        r = self.post_raw("organizations/", b'{"key": "Nul\\u0000X", "name": "x"}')
        self.assertNot5xx(r, "NUL in a JSON string")

    def test_huge_numbers(self):
        for params in ({"page": "9" * 30}, {"page": "18446744073709551617"},
                       {"page_size": "9" * 30}, {"offset": "9" * 30}, {"limit": "9" * 30}):
            r = self.api("GET", "courses/", params)
            self.assertNot5xx(r, params)
            self.assertIsInstance(r.json, dict, params)
        r = self.api("GET", "courses/", {"page": "9" * 30})
        self.assertIn(r.status, (400, 404), r)

    def test_broken_request_line(self):
        reply = self.server.raw(b"GARBAGE\r\n\r\n", timeout=5)
        self.assertNotIn(b"HTTP/1.1 5", reply[:12])
        reply = self.server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 100000 +
                                b"\r\n\r\n", timeout=5)
        self.assertNotIn(b"HTTP/1.1 5", reply[:12])

    def test_errors_are_json(self):
        for r in (self.api("GET", "courses/nope/"), self.api("DELETE", "courses/"),
                  self.api("GET", "courses/", {"marketable": "abc"})):
            self.assertTrue((r.header("Content-Type") or "").startswith("application/json"),
                            r.headers)


if __name__ == "__main__":
    unittest.main()
