"""Writes over HTTP with auth.allow_anonymous_writes: create, replace,
patch and delete of every kind; uuids given on create kept; references
checked; deletes refused while something holds the record; nothing
half-written after an error.  Without the setting every write without a
token is 401 (test_security.py covers tokens)."""

import unittest

from harness import SAMPLE_CATALOG, Server, ServerTestCase, by_kind, read_jsonl

SAMPLE = by_kind(read_jsonl(SAMPLE_CATALOG))
RUN_KEY = "course-v1:WriteX+W101+1T2026"
GIVEN_UUID = "3f1d2c4b-5a69-4e7d-8c0b-9a1e2f3d4c5b"


def run_body(**over):
    body = {"key": RUN_KEY, "course": "WriteX+W101", "title": "Writing Things Down",
            "start": "2026-09-01T00:00:00Z", "end": "2026-12-01T00:00:00Z",
            "pacing_type": "self_paced", "status": "published", "hidden": False,
            "marketing_url": "https://catalog.example.org/course/w101",
            "seats": [{"type": "verified", "price": "49", "currency": "USD"}]}
    body.update(over)
    return body


def nested_run(key, **over):
    """A run nested in a course body: its "course" is implied."""
    body = run_body(key=key, **over)
    del body["course"]
    return body


class Writes(ServerTestCase):
    server_options = {"writes": True, "clock_now": "2026-06-01T00:00:00Z"}

    def ok(self, r, status):
        self.assertEqual(r.status, status, r)
        return r.json

    def snapshot(self, *paths):
        """Bodies of GETs, to compare before and after a failed write."""
        out = []
        for p in paths:
            r = self.api("GET", p)
            out.append((p, r.status, r.body))
        return out

    def assertUnchanged(self, before):
        after = self.snapshot(*[p for p, _, _ in before])
        self.assertEqual(after, before, "a failed write changed what is served")

    # -- the full life of one record of each kind ----------------------------

    def test_lifecycle_every_kind(self):
        org = self.ok(self.api("POST", "organizations/", body={"key": "WriteX",
                                                                "name": "Write University"}), 201)
        self.assertEqual(org["key"], "WriteX")
        self.assertRegex(org["uuid"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                      r"[0-9a-f]{12}$")
        self.assertEqual(self.get_json("organizations/WriteX/")["name"], "Write University")

        subj = self.ok(self.api("POST", "subjects/", body={"slug": "writing", "name": "Writing"}),
                       201)
        self.assertEqual(subj["slug"], "writing")
        ptype = self.ok(self.api("POST", "program_types/", body={
            "slug": "writing-cert", "name": "Writing Certificate",
            "applicable_seat_types": ["verified"], "coaching_supported": False}), 201)
        self.assertEqual(ptype["applicable_seat_types"], ["verified"])

        course = self.ok(self.api("POST", "courses/", body={
            "key": "WriteX+W101", "title": "Writing Things Down", "owners": ["WriteX"],
            "subjects": ["writing"]}), 201)
        self.assertEqual([o["key"] for o in course["owners"]], ["WriteX"])
        run = self.ok(self.api("POST", "course_runs/", body=run_body()), 201)
        self.assertEqual(run["key"], RUN_KEY)
        self.assertEqual(run["course"], "WriteX+W101")
        self.assertEqual(run["seats"][0]["price"], "49.00", "prices are normalized")
        self.assertEqual(self.get_json("courses/WriteX+W101/")["course_run_keys"], [RUN_KEY])

        prog = self.ok(self.api("POST", "programs/", body={
            "title": "Writing", "type": "writing-cert", "status": "active",
            "courses": ["WriteX+W101"], "authoring_organizations": ["WriteX"]}), 201)
        puuid = prog["uuid"]
        self.assertEqual(prog["type"], "Writing Certificate")
        self.assertEqual([c["key"] for c in self.get_json("programs/%s/" % puuid)["courses"]],
                         ["WriteX+W101"])
        way = self.ok(self.api("POST", "pathways/", body={
            "name": "Writing pathway", "status": "published", "pathway_type": "credit",
            "programs": [puuid]}), 201)
        self.assertIsInstance(way["id"], int)

        # PUT replaces: fields left out become null / [].
        r = self.ok(self.api("PUT", "organizations/WriteX/", body={
            "key": "WriteX", "name": "Write U", "description": "Replaced."}), 200)
        self.assertEqual((r["name"], r["description"]), ("Write U", "Replaced."))
        self.assertEqual(r["uuid"], org["uuid"], "PUT keeps the uuid")
        r = self.ok(self.api("PUT", "organizations/WriteX/", body={"key": "WriteX",
                                                                   "name": "Write U"}), 200)
        self.assertIsNone(r["description"])
        # PATCH merges.
        r = self.ok(self.api("PATCH", "organizations/WriteX/",
                             body={"homepage_url": "https://write.example.edu/"}), 200)
        self.assertEqual((r["name"], r["homepage_url"]), ("Write U", "https://write.example.edu/"))
        self.assertEqual(self.get_json("organizations/WriteX/")["homepage_url"],
                         "https://write.example.edu/")

        for path, patch, field in (
                ("subjects/writing/", {"subtitle": "Put it on paper"}, "subtitle"),
                ("program_types/writing-cert/", {"name": "Writing Cert"}, "name"),
                ("courses/WriteX+W101/", {"title": "Writing Things Down, Again"}, "title"),
                ("course_runs/%s/" % RUN_KEY, {"title": "Run title"}, "title"),
                ("programs/%s/" % puuid, {"subtitle": "In six weeks"}, "subtitle"),
                ("pathways/%s/" % way["uuid"], {"email": "w@write.example.edu"}, "email")):
            r = self.ok(self.api("PATCH", path, body=patch), 200)
            self.assertEqual(r[field], patch[field], path)
            self.assertEqual(self.get_json(path)[field], patch[field], path)

        r = self.ok(self.api("PUT", "course_runs/%s/" % RUN_KEY,
                             body=run_body(pacing_type="instructor_paced")), 200)
        self.assertEqual(r["pacing_type"], "instructor_paced")
        self.assertEqual(r["uuid"], run["uuid"])
        r = self.api("PUT", "courses/WriteX+W101/", body={
            "key": "WriteX+OTHER", "title": "x", "owners": ["WriteX"]})
        self.assertDRFError(r, 400, "key")

        # Delete in dependency order; each is gone afterwards.
        for path in ("pathways/%s/" % way["uuid"], "programs/%s/" % puuid,
                     "course_runs/%s/" % RUN_KEY, "courses/WriteX+W101/",
                     "program_types/writing-cert/", "subjects/writing/", "organizations/WriteX/"):
            r = self.api("DELETE", path)
            self.assertEqual(r.status, 204, (path, r))
            self.assertEqual(r.body, b"")
            self.assertDRFError(self.api("GET", path), 404)
            self.assertDRFError(self.api("DELETE", path), 404)

    def test_no_stale_read_in_another_process(self):
        # A second server on the same store, with its own in-process cache:
        # a write acknowledged by the first is seen by the second at once.
        other = Server(catalog=None, clock_now="2026-06-01T00:00:00Z")
        path = "courses/MarlowU+ECON101/"
        try:
            other.sets["store.path"] = self.server.store_path
            other.start()
            before = other.get_json(path)
            self.assertEqual(other.get_json(path), before)  # now cached there
            title = before["title"] + " (revised)"
            self.ok(self.api("PATCH", path, body={"title": title}), 200)
            self.assertEqual(other.get_json(path)["title"], title)
            self.assertEqual(other.stop(), 0)
        finally:
            other.cleanup()
        self.ok(self.api("PATCH", path, body={"title": before["title"]}), 200)
        self.assertEqual(self.get_json(path)["title"], before["title"])

    def test_uuid_given_on_create_is_kept(self):
        self.ok(self.api("POST", "courses/", body={
            "key": "AldenX+KEEP1", "uuid": GIVEN_UUID, "title": "Kept", "owners": ["AldenX"]}),
            201)
        c = self.get_json("courses/%s/" % GIVEN_UUID)
        self.assertEqual((c["key"], c["uuid"]), ("AldenX+KEEP1", GIVEN_UUID))
        self.assertEqual(self.api("DELETE", "courses/AldenX+KEEP1/").status, 204)

    def test_duplicate_key_is_409(self):
        before = self.snapshot("organizations/AldenX/")
        r = self.api("POST", "organizations/", body={"key": "AldenX", "name": "Again"})
        self.assertEqual(r.status, 409, r)
        self.assertIsInstance(r.json, dict)
        self.assertUnchanged(before)

    # -- references ---------------------------------------------------------

    def assertNamed(self, r, field, key):
        self.assertDRFError(r, 400, field)
        self.assertIn(key, " ".join(r.json[field]), r)

    def test_unknown_references(self):
        before = self.snapshot("courses/", "course_runs/?page_size=500", "programs/")
        self.assertNamed(self.api("POST", "courses/", body={
            "key": "AldenX+REF1", "title": "x", "owners": ["NoSuchOrgX"]}), "owners", "NoSuchOrgX")
        self.assertNamed(self.api("POST", "courses/", body={
            "key": "AldenX+REF2", "title": "x", "owners": ["AldenX"],
            "subjects": ["no-such-subject"]}), "subjects", "no-such-subject")
        self.assertNamed(self.api("POST", "course_runs/", body=run_body(
            key="course-v1:Nope+X+1T2026", course="Nope+X")), "course", "Nope+X")
        self.assertNamed(self.api("POST", "programs/", body={
            "title": "x", "type": "micromasters", "status": "active",
            "courses": ["AldenX+CS101", "Ghost+G1"]}), "courses", "Ghost+G1")
        self.assertNamed(self.api("POST", "programs/", body={
            "title": "x", "type": "no-such-type", "status": "active", "courses": []}),
            "type", "no-such-type")
        self.assertNamed(self.api("POST", "pathways/", body={
            "name": "x", "programs": [GIVEN_UUID]}), "programs", GIVEN_UUID)
        self.assertNamed(self.api("PATCH", "courses/AldenX+CS101/",
                                  body={"owners": ["NoSuchOrgX"]}), "owners", "NoSuchOrgX")
        self.assertDRFError(self.api("GET", "courses/AldenX+REF1/"), 404)
        self.assertUnchanged(before)

    def test_nested_run_error_writes_nothing(self):
        before = self.snapshot("courses/AldenX+NEST1/", "course_runs/?page_size=500")
        r = self.api("POST", "courses/", body={
            "key": "AldenX+NEST1", "title": "Nested", "owners": ["AldenX"],
            "course_runs": [nested_run("course-v1:AldenX+NEST1+1T2026"),
                            nested_run("course-v1:AldenX+NEST1+2T2026",
                                     seats=[{"type": "verified", "price": "cheap",
                                             "currency": "USD"}])]})
        self.assertDRFError(r, 400, "course_runs[1].seats[0].price")
        self.assertUnchanged(before)

    # -- deletes that would orphan something -----------------------------------

    def test_delete_org_owning_courses_refused(self):
        owned = [c["key"] for c in SAMPLE["course"] if "MarlowU" in c["owners"]]
        before = self.snapshot("organizations/MarlowU/", "courses/%s/" % owned[0])
        r = self.api("DELETE", "organizations/MarlowU/")
        self.assertDRFError(r, 409)
        self.assertTrue(any(k in r.json["detail"] for k in owned),
                        "the message names a course that holds it: %r" % r.json)
        self.assertUnchanged(before)

    def test_delete_subject_in_use_refused(self):
        r = self.api("DELETE", "subjects/computer-science/")
        self.assertDRFError(r, 409)
        self.assertEqual(self.api("GET", "subjects/computer-science/").status, 200)

    def test_delete_program_type_in_use_refused(self):
        r = self.api("DELETE", "program_types/micromasters/")
        self.assertDRFError(r, 409)
        self.assertEqual(self.api("GET", "program_types/micromasters/").status, 200)

    def test_delete_course_in_program_refused(self):
        prog = next(p for p in SAMPLE["program"] if p["status"] == "active")
        key = prog["courses"][0]
        r = self.api("DELETE", "courses/%s/" % key)
        self.assertDRFError(r, 409)
        self.assertTrue(prog["uuid"] in r.json["detail"] or prog["title"] in r.json["detail"],
                        "names the program: %r" % r.json)
        self.assertEqual(self.api("GET", "courses/%s/" % key).status, 200)

    def test_course_delete_takes_its_runs(self):
        self.ok(self.api("POST", "courses/", body={
            "key": "AldenX+GONE1", "title": "Short-lived", "owners": ["AldenX"],
            "course_runs": [nested_run("course-v1:AldenX+GONE1+1T2026"),
                            nested_run("course-v1:AldenX+GONE1+2T2026")]}), 201)
        self.assertEqual(self.api("GET", "course_runs/course-v1:AldenX+GONE1+2T2026/").status,
                         200)
        self.assertEqual(len(self.get_json("courses/AldenX+GONE1/")["course_runs"]), 2)
        self.assertEqual(self.api("DELETE", "courses/AldenX+GONE1/").status, 204)
        for k in ("course-v1:AldenX+GONE1+1T2026", "course-v1:AldenX+GONE1+2T2026"):
            self.assertDRFError(self.api("GET", "course_runs/%s/" % k), 404)
        keys = [r["key"] for r in self.server.walk("course_runs/", {"page_size": 500})[1]]
        self.assertFalse([k for k in keys if "GONE1" in k])

    def test_invalid_body_writes_nothing(self):
        before = self.snapshot("courses/AldenX+CS101/")
        for body in ({"title": 5}, {"owners": "AldenX"}, {"title": None}):
            r = self.api("PATCH", "courses/AldenX+CS101/", body=body)
            self.assertEqual(r.status, 400, (body, r))
            field = next(iter(body))
            self.assertDRFError(r, 400, field)
        self.assertUnchanged(before)


class WritesForbidden(ServerTestCase):
    """Default settings: anonymous callers may read but not write."""

    def test_writes_are_401(self):
        before = [self.api("GET", p).body for p in ("organizations/AldenX/", "courses/")]
        for method, path, body in (
                ("POST", "organizations/", {"key": "NopeX", "name": "Nope"}),
                ("PUT", "organizations/AldenX/", {"key": "AldenX", "name": "Nope"}),
                ("PATCH", "organizations/AldenX/", {"name": "Nope"}),
                ("DELETE", "organizations/AldenX/", None),
                ("POST", "courses/", {"key": "AldenX+NOPE", "title": "x", "owners": ["AldenX"]}),
                ("DELETE", "courses/AldenX+CS101/", None)):
            r = self.api(method, path, body=body)
            self.assertDRFError(r, 401)
            self.assertIn("Bearer", r.header("WWW-Authenticate") or "")
        self.assertEqual([self.api("GET", p).body for p in ("organizations/AldenX/", "courses/")],
                         before)
        self.assertDRFError(self.api("GET", "organizations/NopeX/"), 404)


if __name__ == "__main__":
    unittest.main()
