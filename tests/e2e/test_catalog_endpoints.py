"""Every catalog endpoint of the contract answers with the contract's fields,
and the LMS's calls work exactly as the LMS sends them.

Served: data/sample-catalog.jsonl, read anonymously (not staff), with the
clock fixed so derived values are stable.
"""

import unittest
import urllib.parse

from harness import SAMPLE_CATALOG, ServerTestCase, by_kind, is_public_run, read_jsonl

ORGANIZATION = {"uuid", "key", "name", "description", "homepage_url", "logo_image_url",
                "certificate_logo_image_url", "banner_image_url", "tags", "marketing_url", "slug"}
SUBJECT = {"uuid", "slug", "name", "subtitle", "description", "banner_image_url",
           "card_image_url"}
SEAT = {"type", "price", "currency", "upgrade_deadline", "credit_provider", "credit_hours", "sku"}
COURSE_RUN = {"key", "uuid", "title", "course", "course_uuid", "short_description",
              "full_description", "start", "end", "enrollment_start", "enrollment_end",
              "pacing_type", "status", "hidden", "image", "marketing_url", "seats", "type",
              "availability", "is_enrollable", "is_marketable", "content_language",
              "transcript_languages", "min_effort", "max_effort", "weeks_to_complete",
              "level_type", "staff", "eligible_for_financial_aid", "programs", "modified"}
COURSE = {"key", "uuid", "title", "short_description", "full_description", "owners", "subjects",
          "level_type", "image", "marketing_url", "course_runs", "course_run_keys",
          "entitlements", "programs", "prerequisites_raw", "outcome", "course_type", "modified"}
NESTED_PROGRAM = {"uuid", "title", "type", "type_attrs", "marketing_slug", "marketing_url",
                  "number_of_courses"}
PROGRAM = {"uuid", "title", "subtitle", "type", "type_attrs", "status", "marketing_slug",
           "marketing_url", "banner_image", "hidden", "courses", "authoring_organizations",
           "card_image_url"}
PROGRAM_DETAIL = PROGRAM | {"overview", "weeks_to_complete", "min_hours_effort_per_week",
                            "max_hours_effort_per_week", "languages", "subjects", "price_ranges",
                            "applicable_seat_types", "curricula"}
PROGRAM_TYPE = {"uuid", "name", "slug", "logo_image", "applicable_seat_types",
                "coaching_supported"}
PATHWAY = {"id", "uuid", "name", "org_name", "email", "description", "destination_url",
           "pathway_type", "status", "programs"}
PAGE = {"count", "next", "previous", "results"}

SAMPLE = by_kind(read_jsonl(SAMPLE_CATALOG))
PUBLIC_RUNS = [r for r in SAMPLE["course_run"] if is_public_run(r)]
PRIVATE_RUNS = [r for r in SAMPLE["course_run"] if not is_public_run(r)]
PUBLIC_PROGRAMS = [p for p in SAMPLE["program"] if p["status"] in ("active", "retired")]
PRIVATE_PROGRAMS = [p for p in SAMPLE["program"] if p["status"] not in ("active", "retired")]
PROGRAM_TYPE_NAMES = {t["slug"]: t["name"] for t in SAMPLE["program_type"]}


def quote_key(key):
    """A key as it goes into a path: '+' and ':' stay literal."""
    return urllib.parse.quote(key, safe="+:")


class CatalogEndpoints(ServerTestCase):
    server_options = {"clock_now": "2026-06-01T00:00:00Z"}

    def assertFields(self, obj, fields, what):
        self.assertIsInstance(obj, dict, what)
        missing = fields - set(obj)
        self.assertFalse(missing, "%s lacks %s (has %s)" % (what, sorted(missing), sorted(obj)))

    def assertPage(self, page, what):
        self.assertFields(page, PAGE, what)
        self.assertIsInstance(page["results"], list, what)

    def list_all(self, path, params=None):
        _, results = self.server.walk(path, dict(params or {}, page_size=100))
        return results

    # -- organizations, subjects, program types --------------------------

    def check_simple_kind(self, path, kind, key_field, fields):
        expected = SAMPLE[kind]
        page = self.get_json(path)
        self.assertPage(page, path)
        self.assertEqual(page["count"], len(expected), path)
        results = self.list_all(path)
        self.assertEqual(sorted(r[key_field] for r in results),
                         sorted(e[key_field] for e in expected))
        for r in results:
            self.assertFields(r, fields, "%s item" % path)
        one = expected[0]
        by_key = self.get_json("%s%s/" % (path, quote_key(one[key_field])))
        self.assertFields(by_key, fields, "%s detail" % path)
        self.assertEqual(by_key[key_field], one[key_field])
        self.assertEqual(by_key["uuid"], one["uuid"])
        by_uuid = self.get_json("%s%s/" % (path, one["uuid"]))
        self.assertEqual(by_uuid, by_key)
        r = self.api("GET", "%sno-such-thing-here/" % path)
        self.assertDRFError(r, 404)

    def test_organizations(self):
        self.check_simple_kind("organizations/", "organization", "key", ORGANIZATION)
        org = self.get_json("organizations/AldenX/")
        src = next(o for o in SAMPLE["organization"] if o["key"] == "AldenX")
        for f in ("name", "description", "homepage_url", "tags", "marketing_url", "slug"):
            self.assertEqual(org[f], src[f], f)

    def test_subjects(self):
        self.check_simple_kind("subjects/", "subject", "slug", SUBJECT)

    def test_program_types(self):
        # The LMS: GET program_types/ (it reads name, slug, applicable_seat_types).
        self.check_simple_kind("program_types/", "program_type", "slug", PROGRAM_TYPE)
        mm = self.get_json("program_types/micromasters/")
        self.assertEqual(mm["name"], "MicroMasters")
        self.assertEqual(mm["applicable_seat_types"], ["verified"])
        self.assertIs(mm["coaching_supported"], True)

    # -- courses ----------------------------------------------------------

    def test_course_list_and_fields(self):
        page = self.get_json("courses/")
        self.assertPage(page, "courses/")
        self.assertEqual(page["count"], len(SAMPLE["course"]))
        self.assertEqual(len(page["results"]), 20, "default page size is 20")
        for c in page["results"]:
            self.assertFields(c, COURSE, "course in list")

    def test_course_detail_by_key_and_uuid(self):
        # The LMS: GET courses/{key or uuid}/ - one course with runs and owners.
        src = next(c for c in SAMPLE["course"] if c["key"] == "AldenX+CS101")
        c = self.get_json("courses/AldenX+CS101/")
        self.assertFields(c, COURSE, "course detail")
        self.assertEqual(c["key"], "AldenX+CS101")
        self.assertEqual(c["uuid"], src["uuid"])
        self.assertEqual(c["title"], src["title"])
        self.assertEqual([o["key"] for o in c["owners"]], src["owners"])
        for o in c["owners"]:
            self.assertIn("name", o)
            self.assertIn("uuid", o)
        self.assertEqual(sorted(s["slug"] for s in c["subjects"]), sorted(src["subjects"]))
        runs = [r for r in PUBLIC_RUNS if r["course"] == "AldenX+CS101"]
        self.assertEqual(sorted(r["key"] for r in c["course_runs"]), sorted(r["key"] for r in runs))
        self.assertEqual(sorted(c["course_run_keys"]), sorted(r["key"] for r in runs))
        for run in c["course_runs"]:
            self.assertFields(run, COURSE_RUN - {"programs"}, "run nested in course")
            for seat in run["seats"]:
                self.assertFields(seat, SEAT, "seat")
        self.assertEqual(self.get_json("courses/%s/" % src["uuid"]), c)
        # %2B in a path is the same key.
        self.assertEqual(self.get_json("courses/AldenX%2BCS101/")["uuid"], src["uuid"])

    def test_course_programs_nested(self):
        prog = PUBLIC_PROGRAMS[0]
        c = self.get_json("courses/%s/" % prog["courses"][0])
        uuids = [p["uuid"] for p in c["programs"]]
        self.assertIn(prog["uuid"], uuids)
        for p in c["programs"]:
            self.assertFields(p, NESTED_PROGRAM, "program nested in course")
        nested = next(p for p in c["programs"] if p["uuid"] == prog["uuid"])
        self.assertEqual(nested["number_of_courses"], len(prog["courses"]))
        self.assertEqual(nested["type"], PROGRAM_TYPE_NAMES[prog["type"]])

    def test_courses_keys_as_the_lms_sends_them(self):
        # The LMS sends keys=K1,K2,... 50 at a time, with '+' as %2B.
        keys = [c["key"] for c in SAMPLE["course"]]
        seen = []
        for i in range(0, len(keys), 50):
            chunk = keys[i:i + 50]
            query = "keys=" + ",".join(urllib.parse.quote(k, safe="") for k in chunk)
            self.assertIn("%2B", query)
            results = []
            page = self.get_json("courses/?" + query + "&page_size=100")
            results.extend(page["results"])
            self.assertEqual(page["count"], len(chunk))
            self.assertEqual(sorted(r["key"] for r in results), sorted(chunk))
            seen.extend(r["key"] for r in results)
        self.assertEqual(sorted(seen), sorted(keys))

    def test_courses_keys_literal_plus_is_a_space(self):
        # In a query string '+' means a space: an unencoded key matches nothing.
        page = self.get_json("courses/?keys=AldenX+CS101")
        self.assertEqual(page["count"], 0, page)
        page = self.get_json("courses/?keys=AldenX%2BCS101,KestrelTech%2B6.10x")
        self.assertEqual(sorted(r["key"] for r in page["results"]),
                         ["AldenX+CS101", "KestrelTech+6.10x"])

    def test_courses_uuids_filter(self):
        want = [c["uuid"] for c in SAMPLE["course"][:3]]
        page = self.get_json("courses/", {"uuids": ",".join(want)})
        self.assertEqual(sorted(r["uuid"] for r in page["results"]), sorted(want))

    # -- course runs ------------------------------------------------------

    def test_course_runs_walked_as_the_lms_does(self):
        # The LMS: GET course_runs/?page_size=100&exclude_utm=1, then follows next.
        page = self.get_json("course_runs/?page_size=100&exclude_utm=1")
        self.assertPage(page, "course_runs/")
        self.assertEqual(page["count"], len(PUBLIC_RUNS))
        self.assertEqual(len(page["results"]), min(100, len(PUBLIC_RUNS)))
        pages, results = self.server.walk("course_runs/", {"page_size": 100, "exclude_utm": 1})
        self.assertEqual(len(pages), (len(PUBLIC_RUNS) + 99) // 100)
        keys = [r["key"] for r in results]
        self.assertEqual(len(keys), len(set(keys)), "a run was listed twice")
        self.assertEqual(sorted(keys), sorted(r["key"] for r in PUBLIC_RUNS))
        for r in results:
            self.assertFields(r, COURSE_RUN, "run in list")

    def test_course_run_detail(self):
        # The LMS: GET course_runs/{key}/ with the key's '+' and ':' literal.
        src = PUBLIC_RUNS[0]
        r = self.get_json("course_runs/%s/" % quote_key(src["key"]))
        self.assertFields(r, COURSE_RUN, "run detail")
        self.assertEqual(r["key"], src["key"])
        self.assertEqual(r["uuid"], src["uuid"])
        self.assertEqual(r["course"], src["course"])
        course = next(c for c in SAMPLE["course"] if c["key"] == src["course"])
        self.assertEqual(r["course_uuid"], course["uuid"])
        self.assertEqual(r["start"], src["start"])
        self.assertEqual([s["type"] for s in r["seats"]], [s["type"] for s in src["seats"]])
        for seat, s in zip(r["seats"], src["seats"]):
            self.assertFields(seat, SEAT, "seat")
            self.assertIsInstance(seat["price"], str)
            self.assertEqual(seat["price"], s["price"])
        self.assertIn(r["availability"], ("Current", "Archived", "Starting Soon", "Upcoming"))
        self.assertIsInstance(r["is_enrollable"], bool)
        self.assertIsInstance(r["is_marketable"], bool)
        self.assertEqual(self.get_json("course_runs/%s/" % src["uuid"])["key"], src["key"])

    def test_run_type_is_derived_from_seats(self):
        order = ["credit", "professional", "verified", "honor", "audit"]
        checked = 0
        for src in PUBLIC_RUNS:
            types = {s["type"] for s in src["seats"]}
            want = next((t for t in order if t in types), None)
            if want is None:
                continue
            r = self.get_json("course_runs/%s/" % quote_key(src["key"]))
            self.assertEqual(r["type"], want, src["key"])
            checked += 1
            if checked >= 10:
                break
        self.assertGreater(checked, 0)

    def test_private_runs_are_invisible_to_anonymous(self):
        self.assertTrue(PRIVATE_RUNS, "the sample has unpublished or hidden runs")
        for src in PRIVATE_RUNS[:5]:
            r = self.api("GET", "course_runs/%s/" % quote_key(src["key"]))
            self.assertDRFError(r, 404)
        c = self.get_json("courses/%s/" % PRIVATE_RUNS[0]["course"])
        self.assertNotIn(PRIVATE_RUNS[0]["key"], [r["key"] for r in c["course_runs"]])

    def test_course_runs_ordering_start(self):
        results = self.list_all("course_runs/", {"ordering": "start"})
        starts = [r["start"] for r in results]
        self.assertEqual(starts, sorted(starts))

    def test_course_runs_keys_filter(self):
        want = [r["key"] for r in PUBLIC_RUNS[:3]]
        page = self.get_json("course_runs/", {"keys": ",".join(want)})
        self.assertEqual(sorted(r["key"] for r in page["results"]), sorted(want))

    # -- programs ---------------------------------------------------------

    def test_programs_uuids_only_as_the_lms_sends_it(self):
        # The LMS: a bare list of uuids, not paginated; status repeats.
        r = self.api("GET", "programs/?uuids_only=1&status=active&status=retired&exclude_utm=1")
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json, list, "uuids_only answers a bare list: %r" % r)
        self.assertEqual(sorted(r.json), sorted(p["uuid"] for p in PUBLIC_PROGRAMS))
        only_active = self.get_json("programs/?uuids_only=1&status=active")
        self.assertEqual(sorted(only_active),
                         sorted(p["uuid"] for p in PUBLIC_PROGRAMS if p["status"] == "active"))

    def test_program_list(self):
        page = self.get_json("programs/")
        self.assertPage(page, "programs/")
        self.assertEqual(sorted(p["uuid"] for p in page["results"]),
                         sorted(p["uuid"] for p in PUBLIC_PROGRAMS))
        for p in page["results"]:
            self.assertFields(p, PROGRAM, "program in list")
        retired = self.get_json("programs/", {"status": "retired"})
        self.assertEqual(sorted(p["uuid"] for p in retired["results"]),
                         sorted(p["uuid"] for p in PUBLIC_PROGRAMS if p["status"] == "retired"))

    def test_unpublished_program_invisible(self):
        self.assertTrue(PRIVATE_PROGRAMS)
        r = self.api("GET", "programs/%s/" % PRIVATE_PROGRAMS[0]["uuid"])
        self.assertDRFError(r, 404)

    def test_program_detail_as_the_lms_asks(self):
        # The LMS: GET programs/{uuid}/?exclude_utm=1 - courses with runs and seats.
        src = PUBLIC_PROGRAMS[0]
        p = self.get_json("programs/%s/?exclude_utm=1" % src["uuid"])
        self.assertFields(p, PROGRAM_DETAIL, "program detail")
        self.assertEqual(p["uuid"], src["uuid"])
        self.assertEqual(p["title"], src["title"])
        self.assertEqual(p["status"], src["status"])
        self.assertEqual(p["type"], PROGRAM_TYPE_NAMES[src["type"]])
        self.assertEqual(p["type_attrs"]["slug"], src["type"])
        self.assertIn("uuid", p["type_attrs"])
        self.assertIn("coaching_supported", p["type_attrs"])
        self.assertEqual([c["key"] for c in p["courses"]], src["courses"])
        self.assertEqual(sorted(o["key"] for o in p["authoring_organizations"]),
                         sorted(src["authoring_organizations"]))
        n_runs = 0
        for course in p["courses"]:
            self.assertIn("course_runs", course)
            want = sorted(r["key"] for r in PUBLIC_RUNS if r["course"] == course["key"])
            self.assertEqual(sorted(r["key"] for r in course["course_runs"]), want)
            for run in course["course_runs"]:
                n_runs += 1
                self.assertIn("seats", run)
                for seat in run["seats"]:
                    self.assertFields(seat, SEAT, "seat in program")
        self.assertGreater(n_runs, 0)
        for pr in p["price_ranges"]:
            self.assertFields(pr, {"currency", "min", "max", "total"}, "price range")
        same = self.get_json("programs/%s/" % src["uuid"])
        self.assertEqual(same["uuid"], p["uuid"])

    # -- pathways ---------------------------------------------------------

    def test_pathways_as_the_lms_pages_them(self):
        # The LMS: GET pathways/?exclude_utm=1&page=N until next is null.
        page = self.get_json("pathways/?exclude_utm=1&page=1")
        self.assertPage(page, "pathways/")
        self.assertEqual(page["count"], len(SAMPLE["pathway"]))
        self.assertIsNone(page["next"])
        self.assertIsNone(page["previous"])
        for w in page["results"]:
            self.assertFields(w, PATHWAY, "pathway")
            self.assertIsInstance(w["id"], int)
        got = {w["uuid"]: w for w in page["results"]}
        for src in SAMPLE["pathway"]:
            w = got[src["uuid"]]
            self.assertEqual(w["name"], src["name"])
            uuids = [p["uuid"] if isinstance(p, dict) else p for p in w["programs"]]
            self.assertEqual(sorted(uuids), sorted(src["programs"]))
        r = self.api("GET", "pathways/?exclude_utm=1&page=2")
        self.assertDRFError(r, 404)
        self.assertEqual(r.json, {"detail": "Invalid page."})

    def test_pathway_detail(self):
        src = SAMPLE["pathway"][0]
        w = self.get_json("pathways/%s/" % src["uuid"])
        self.assertFields(w, PATHWAY, "pathway detail")
        self.assertEqual(w["uuid"], src["uuid"])

    # -- slashes ----------------------------------------------------------

    def check_no_slash(self, path, query=""):
        with_slash = self.api("GET", path + "/" + query)
        self.assertEqual(with_slash.status, 200, with_slash)
        r = self.api("GET", path + query)
        if r.status in (301, 302, 307, 308):
            loc = r.header("Location")
            self.assertIsNotNone(loc, "redirect without Location")
            u = urllib.parse.urlsplit(loc)
            self.assertEqual(u.path, "/api/v1/" + path + "/")
            self.assertEqual("?" + u.query if u.query else "", query)
        else:
            self.assertEqual(r.status, 200, "%s without slash: %r" % (path, r))
            if isinstance(r.json, dict) and "results" in r.json:
                # Served as is: the same page; links may keep the caller's spelling
                # but must lead to the same next page.
                self.assertEqual(r.json["results"], with_slash.json["results"])
                self.assertEqual(r.json["count"], with_slash.json["count"])
                self.assertEqual(r.json["next"] is None, with_slash.json["next"] is None)
                if r.json["next"]:
                    nxt = self.server.local(r.json["next"])
                    self.assertEqual(self.get_json(nxt)["results"],
                                     self.get_json(self.server.local(with_slash.json["next"]))
                                     ["results"])
            else:
                self.assertEqual(r.json, with_slash.json)

    def test_paths_without_trailing_slash(self):
        for path in ("organizations", "subjects", "program_types", "courses", "course_runs",
                     "programs", "pathways", "courses/AldenX+CS101",
                     "programs/%s" % PUBLIC_PROGRAMS[0]["uuid"],
                     "course_runs/%s" % quote_key(PUBLIC_RUNS[0]["key"])):
            self.check_no_slash(path)
        self.check_no_slash("courses", "?page=2&page_size=5")

    def test_exclude_utm_changes_nothing(self):
        a = self.get_json("courses/?page_size=5")
        b = self.get_json("courses/?page_size=5&exclude_utm=1")
        self.assertEqual(a["results"], b["results"])

    def test_json_content_type(self):
        r = self.api("GET", "courses/")
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"),
                        r.headers)


if __name__ == "__main__":
    unittest.main()
