"""The search endpoints end to end: search/{all,courses,course_runs,programs}/
and their facets/, typeahead, q on the lists, hostile q values, a write
searchable as soon as the API answers, and 503 without a search backend.

Served: data/sample-catalog.jsonl and a generated catalog, read anonymously
(not staff) unless a test says otherwise, with the clock fixed.
"""

import os
import tempfile
import unittest

from harness import (SAMPLE_CATALOG, Server, ServerTestCase, by_kind, generate_catalog,
                     is_public_run, read_jsonl)

PAGE = {"count", "next", "previous", "results"}
ENDPOINTS = {"all": {"course", "courserun", "program"}, "courses": {"course"},
             "course_runs": {"courserun"}, "programs": {"program"}}
TERM_FACETS = ("organizations", "subjects", "level_type", "language", "pacing_type",
               "seat_types", "content_type")
QUERY_FACETS = {"availability_current": "Current", "availability_starting_soon": "Starting Soon",
                "availability_upcoming": "Upcoming", "availability_archived": "Archived"}
# "(" * 5000 is 15,000 bytes percent-encoded: inside server.max_url_bytes
# (16K), so the query parser, not the URL limit, refuses it.
HOSTILE = ["(" * 5000, "a\x00b", "NEAR(a b)", "col:", "title:", '"', "a OR", "-", "*",
           ")))", "AND", "^", "{}", "\\", "x" * 5000]

SAMPLE = by_kind(read_jsonl(SAMPLE_CATALOG))


def hit_key(hit):
    return hit.get("uuid") if hit["content_type"] == "program" else hit["key"]


def carries(hit, field, value):
    v = hit.get(field)
    return v == value if not isinstance(v, list) else value in v


class SearchChecks:
    """Assertions shared by the sample and generated catalog classes."""

    QUERIES = [None, "data", "introduction OR science"]

    def search_all(self, endpoint, params=None):
        """Every hit of a search (page_size at the maximum, next followed)."""
        params = dict(params or {}, page_size=500)
        _, results = self.server.walk("search/%s/" % endpoint, params)
        return results

    def facets(self, endpoint, params=None):
        return self.get_json("search/%s/facets/" % endpoint, dict(params or {}, page_size=500))

    def follow(self, url):
        base = "http://%s" % self.server.listen
        self.assertTrue(url.startswith(base + "/api/v1/search/"), url)
        return self.get_json(self.server.local(url))

    def check_facets(self, endpoint, q):
        params = {"q": q} if q else {}
        body = self.facets(endpoint, params)
        self.assertEqual(set(body), {"fields", "queries", "objects"})
        objects = body["objects"]
        self.assertEqual(set(objects), PAGE)
        hits = self.search_all(endpoint, params)
        self.assertEqual(objects["count"], len(hits))
        self.assertEqual(set(body["fields"]), set(TERM_FACETS))
        for field in TERM_FACETS:
            items = body["fields"][field]
            counts = [item["count"] for item in items]
            self.assertEqual(counts, sorted(counts, reverse=True), field)
            for item in items:
                self.assertEqual(set(item), {"text", "count", "narrow_url"})
                want = sum(1 for h in hits if carries(h, field, item["text"]))
                self.assertEqual(item["count"], want, "%s %s=%r" % (endpoint, field, item["text"]))
        for name, label in QUERY_FACETS.items():
            want = sum(1 for h in hits if h.get("availability", "Upcoming") == label)
            if want == 0:
                self.assertNotIn(name, body["queries"], "empty query facet not omitted")
            else:
                self.assertEqual(body["queries"][name]["count"], want, name)
        return body, hits


class SampleSearch(ServerTestCase, SearchChecks):
    # No writes: allow_anonymous_writes makes every caller staff.
    server_options = {"clock_now": "2026-06-01T00:00:00Z"}

    def test_endpoint_shapes(self):
        for endpoint, types in ENDPOINTS.items():
            page = self.get_json("search/%s/" % endpoint)
            self.assertEqual(set(page), PAGE, endpoint)
            self.assertGreater(page["count"], 0, endpoint)
            for hit in page["results"]:
                self.assertIn(hit["content_type"], types)
                self.assertTrue(hit.get("title"), hit)
                if hit["content_type"] == "courserun":
                    self.assertIn(hit["availability"], QUERY_FACETS.values())
                    self.assertIsInstance(hit["is_enrollable"], bool)
            facets = self.get_json("search/%s/facets/" % endpoint)
            self.assertEqual(set(facets), {"fields", "queries", "objects"})
            self.assertEqual(facets["objects"]["count"], page["count"])

    def test_visitor_sees_public_documents_only(self):
        runs = self.search_all("course_runs")
        self.assertEqual({h["key"] for h in runs},
                         {r["key"] for r in SAMPLE["course_run"] if is_public_run(r)})
        programs = self.search_all("programs")
        self.assertEqual({h["uuid"] for h in programs},
                         {p["uuid"] for p in SAMPLE["program"]
                          if p["status"] in ("active", "retired")})
        # the facet counts leave the private runs out too
        body = self.facets("course_runs")
        total = sum(i["count"] for i in body["fields"]["content_type"])
        self.assertEqual(total, len(runs))

    def test_facet_counts_equal_hits(self):
        for q in self.QUERIES:
            for endpoint in ("all", "course_runs"):
                self.check_facets(endpoint, q)

    def test_narrow_urls_narrow(self):
        body, _ = self.check_facets("all", "data")
        followed = 0
        for field in ("organizations", "subjects", "content_type", "seat_types"):
            for item in body["fields"][field][:2]:
                narrowed = self.follow(item["narrow_url"])
                self.assertEqual(narrowed["objects"]["count"], item["count"], item)
                for hit in narrowed["objects"]["results"]:
                    self.assertTrue(carries(hit, field, item["text"]), (item, hit))
                followed += 1
        for name, q in body["queries"].items():
            narrowed = self.follow(q["narrow_url"])
            self.assertEqual(narrowed["objects"]["count"], q["count"], name)
            followed += 1
        self.assertGreater(followed, 4)

    def test_selected_facets_and_filters(self):
        org = SAMPLE["organization"][0]
        value = "%s: %s" % (org["key"], org["name"])
        picked = self.search_all("all", {"selected_facets": "organizations_exact:" + value})
        self.assertTrue(picked)
        self.assertTrue(all(value in h["organizations"] for h in picked))
        by_key = self.search_all("all", {"org": org["key"]})
        self.assertEqual({hit_key(h) for h in by_key}, {hit_key(h) for h in picked})
        both = self.search_all("course_runs", {"org": org["key"], "pacing_type": "self_paced"})
        self.assertTrue(all(h["pacing_type"] == "self_paced" for h in both))
        current = self.search_all("course_runs", {"availability": "current"})
        self.assertTrue(all(h["availability"] == "Current" for h in current))
        later = self.search_all("course_runs", {"start__gte": "2026-06-01"})
        self.assertTrue(all(h["start"] >= "2026-06-01" for h in later))
        for params, field in [({"selected_facets": "colour_exact:red"}, "selected_facets"),
                              ({"selected_query_facets": "availability_never"},
                               "selected_query_facets"),
                              ({"pacing_type": "fast"}, "pacing_type"),
                              ({"content_type": "video"}, "content_type"),
                              ({"availability": "soon"}, "availability"),
                              ({"start__gte": "yesterday"}, "start__gte"),
                              ({"q": '"open'}, "q")]:
            r = self.api("GET", "search/all/facets/", params)
            self.assertDRFError(r, 400, field)

    def test_typeahead(self):
        body = self.get_json("search/typeahead/", {"q": "data"})
        self.assertEqual(set(body), {"course_runs", "programs"})
        self.assertTrue(body["course_runs"])
        self.assertLessEqual(len(body["course_runs"]), 3)
        self.assertLessEqual(len(body["programs"]), 3)
        public = {r["key"] for r in SAMPLE["course_run"] if is_public_run(r)}
        for run in body["course_runs"]:
            self.assertEqual(set(run), {"key", "title", "marketing_url", "orgs"})
            self.assertIn(run["key"], public)
        for program in body["programs"]:
            self.assertEqual(set(program), {"uuid", "title", "marketing_url", "orgs", "type"})
        org = SAMPLE["organization"][0]
        by_org = self.get_json("search/typeahead/", {"q": org["key"][:4]})
        self.assertTrue(any(org["key"] in r["orgs"] for r in by_org["course_runs"]), by_org)
        for params in ({}, {"q": ""}):
            self.assertDRFError(self.api("GET", "search/typeahead/", params), 400, "q")

    def test_q_on_lists_matches_search(self):
        for q in ("data", "-data", "title:introduction", "org:" + SAMPLE["organization"][1]["key"]):
            for lst, endpoint, key in (("courses/", "courses", "key"),
                                       ("course_runs/", "course_runs", "key"),
                                       ("programs/", "programs", "uuid")):
                _, listed = self.server.walk(lst, {"q": q, "page_size": 7})
                found = self.search_all(endpoint, {"q": q})
                self.assertEqual(sorted(r[key] for r in listed),
                                 sorted(hit_key(h) for h in found), "%s?q=%s" % (lst, q))
        self.assertDRFError(self.api("GET", "courses/", {"q": "(data"}), 400, "q")

    def test_hostile_q(self):
        for path in ("search/all/", "search/all/facets/", "search/typeahead/", "courses/"):
            for q in HOSTILE:
                r = self.api("GET", path, {"q": q})
                self.assertIn(r.status, (200, 400), "%s q=%r: %r" % (path, q[:20], r))
                self.assertIsInstance(r.json, dict)
            # invalid UTF-8, raw
            r = self.server.request("GET", "/api/v1/" + path + "?q=%FF%FE")
            self.assertEqual(r.status, 400, r)
        r = self.api("GET", "search/all/", {"q": "(" * 5000})
        self.assertDRFError(r, 400, "q")
        # Longer than the URL limit: refused before parsing, still as JSON.
        r = self.api("GET", "search/all/", {"q": "(" * 10240})
        self.assertEqual(r.status, 414, r)
        self.assertIsInstance(r.json, dict, r)
        self.assertHealthy()


class WritesSearch(ServerTestCase):
    """Writes through the API (every caller is staff here)."""

    server_options = {"clock_now": "2026-06-01T00:00:00Z", "writes": True}

    def search_all(self, endpoint, params=None):
        _, results = self.server.walk("search/%s/" % endpoint, dict(params or {}, page_size=500))
        return results

    def test_staff_see_private_runs(self):
        keys = {h["key"] for h in self.search_all("course_runs")}
        self.assertEqual(keys, {r["key"] for r in SAMPLE["course_run"]})

    def test_write_is_searchable_at_once(self):
        self.assertEqual(self.get_json("search/all/", {"q": "xylophonics"})["count"], 0)
        org = SAMPLE["organization"][0]["key"]
        r = self.api("POST", "courses/", body={
            "key": org + "+XYL101", "title": "Xylophonics for Beginners", "owners": [org],
            "course_runs": [{"key": "course-v1:%s+XYL101+1T2026" % org, "status": "published",
                             "start": "2026-05-01T00:00:00Z", "end": "2026-09-01T00:00:00Z"}]})
        self.assertEqual(r.status, 201, r)
        found = self.search_all("all", {"q": "xylophonics"})
        self.assertEqual({(h["content_type"], hit_key(h)) for h in found},
                         {("course", org + "+XYL101"),
                          ("courserun", "course-v1:%s+XYL101+1T2026" % org)})
        run = [h for h in found if h["content_type"] == "courserun"][0]
        self.assertEqual(run["availability"], "Current")
        self.assertEqual(self.get_json("courses/", {"q": "xylophonics"})["count"], 1)
        r = self.api("DELETE", "courses/%s+XYL101/" % org)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.get_json("search/all/", {"q": "xylophonics"})["count"], 0)


class GeneratedSearch(ServerTestCase, SearchChecks):
    """The same checks over a generated catalog of 400 courses."""

    QUERIES = [None, "introduction", "-data"]

    @classmethod
    def setUpClass(cls):
        cls.catalog_dir = tempfile.TemporaryDirectory(prefix="catalogd-gen-")
        cls.catalog_path = os.path.join(cls.catalog_dir.name, "gen.jsonl")
        generate_catalog(cls.catalog_path, 400, seed=3)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.catalog_dir.cleanup()

    @classmethod
    def make_server_options(cls):
        return {"catalog": cls.catalog_path, "clock_now": "2026-06-01T00:00:00Z"}

    def test_shapes_and_counts(self):
        for endpoint in ENDPOINTS:
            page = self.get_json("search/%s/" % endpoint)
            self.assertEqual(set(page), PAGE)
        for q in self.QUERIES:
            self.check_facets("all", q)

    def test_pages_cover_every_hit_once(self):
        pages, hits = self.server.walk("search/course_runs/", {"page_size": 50})
        keys = [h["key"] for h in hits]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual(len(keys), pages[0]["count"])


class NoSearchBackend(unittest.TestCase):
    """search.driver = none: search answers 503, everything else serves."""

    def test_503_and_the_rest_serves(self):
        server = Server(settings={"search.driver": "none"})
        self.addCleanup(server.cleanup)
        server.start()
        for path in ("search/all/", "search/courses/facets/", "search/typeahead/?q=a"):
            r = server.api("GET", path)
            self.assertEqual(r.status, 503, r)
            self.assertIn("detail", r.json)
        self.assertEqual(server.api("GET", "courses/", {"q": "data"}).status, 503)
        self.assertEqual(server.api("GET", "courses/").status, 200)
        self.assertEqual(server.request("GET", "/healthz").status, 200)
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
