"""DRF pagination over a generated catalog of 1,050 courses: every record
seen exactly once, counts, previous links, the end, the cap, and absolute
links built from server.public_url (never from the Host header)."""

import math
import os
import tempfile
import unittest
import urllib.parse

from harness import ServerTestCase, by_kind, generate_catalog, is_public_run

N_COURSES = 1050
PUBLIC_URL = "http://catalog.example.test"
PAGE_SIZE_MAX = 500  # the default api.page_size_max


class Pagination(ServerTestCase):
    @classmethod
    def make_server_options(cls):
        cls.data_dir = tempfile.TemporaryDirectory(prefix="catalogd-e2e-gen-")
        path = os.path.join(cls.data_dir.name, "generated.jsonl")
        cls.catalog = by_kind(generate_catalog(path, N_COURSES, seed=7))
        cls.course_keys = sorted(c["key"] for c in cls.catalog["course"])
        return {"catalog": path, "clock_now": "2026-01-15T00:00:00Z",
                "settings": {"server.public_url": PUBLIC_URL}}

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.data_dir.cleanup()

    def assertUnderPublicUrl(self, url, path="/api/v1/courses/"):
        self.assertIsInstance(url, str)
        self.assertTrue(url.startswith(PUBLIC_URL + path), "%r is not under %s%s" %
                        (url, PUBLIC_URL, path))

    def query_of(self, url):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))

    def test_walk_page_size_7(self):
        pages, results = self.server.walk("courses/", {"page_size": 7})
        self.assertEqual(len(pages), math.ceil(N_COURSES / 7))
        keys = [c["key"] for c in results]
        self.assertEqual(len(keys), len(set(keys)), "a course was listed twice")
        self.assertEqual(sorted(keys), self.course_keys)
        for i, page in enumerate(pages):
            self.assertEqual(page["count"], N_COURSES)
            want = 7 if i < len(pages) - 1 else N_COURSES - 7 * (len(pages) - 1)
            self.assertEqual(len(page["results"]), want, "page %d" % (i + 1))
            if i == 0:
                self.assertIsNone(page["previous"])
            else:
                self.assertUnderPublicUrl(page["previous"])
            if i == len(pages) - 1:
                self.assertIsNone(page["next"])
            else:
                self.assertUnderPublicUrl(page["next"])
                q = self.query_of(page["next"])
                self.assertEqual(q.get("page"), str(i + 2))
                self.assertEqual(q.get("page_size"), "7")

    def test_previous_goes_back(self):
        p1 = self.get_json("courses/", {"page_size": 7})
        p2 = self.get_json(self.server.local(p1["next"]))
        p3 = self.get_json(self.server.local(p2["next"]))
        back2 = self.get_json(self.server.local(p3["previous"]))
        self.assertEqual(back2["results"], p2["results"])
        back1 = self.get_json(self.server.local(p2["previous"]))
        self.assertEqual(back1["results"], p1["results"])
        self.assertIsNone(back1["previous"])

    def test_walk_limit_offset(self):
        pages, results = self.server.walk("courses/", {"limit": 7, "offset": 0})
        self.assertEqual(len(pages), math.ceil(N_COURSES / 7))
        keys = [c["key"] for c in results]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual(sorted(keys), self.course_keys)
        self.assertIsNone(pages[0]["previous"])
        self.assertIsNone(pages[-1]["next"])
        q = self.query_of(pages[0]["next"])
        self.assertEqual((q.get("limit"), q.get("offset")), ("7", "7"))
        self.assertUnderPublicUrl(pages[1]["previous"])
        self.assertEqual(self.get_json(self.server.local(pages[1]["previous"]))["results"],
                         pages[0]["results"])
        for page in pages:
            self.assertEqual(page["count"], N_COURSES)

    def test_limit_offset_agrees_with_pages(self):
        by_page = self.get_json("courses/", {"page": 3, "page_size": 10})
        by_offset = self.get_json("courses/", {"limit": 10, "offset": 20})
        self.assertEqual(by_page["results"], by_offset["results"])

    def test_offset_past_the_end_is_empty(self):
        page = self.get_json("courses/", {"limit": 10, "offset": N_COURSES + 5})
        self.assertEqual(page["results"], [])
        self.assertEqual(page["count"], N_COURSES)
        self.assertIsNone(page["next"])

    def test_page_past_the_end(self):
        last = math.ceil(N_COURSES / 7)
        self.assertEqual(len(self.get_json("courses/", {"page": last, "page_size": 7})["results"]),
                         N_COURSES - 7 * (last - 1))
        for page in (last + 1, 10 ** 6):
            r = self.api("GET", "courses/", {"page": page, "page_size": 7})
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.json, {"detail": "Invalid page."})

    def test_page_size_above_cap_is_clamped(self):
        page = self.get_json("courses/", {"page_size": 100000})
        self.assertEqual(len(page["results"]), PAGE_SIZE_MAX)
        self.assertEqual(page["count"], N_COURSES)
        self.assertUnderPublicUrl(page["next"])
        page = self.get_json("courses/", {"limit": 100000})
        self.assertEqual(len(page["results"]), PAGE_SIZE_MAX)
        _, results = self.server.walk("courses/", {"page_size": 100000})
        self.assertEqual(sorted(c["key"] for c in results), self.course_keys)

    def test_default_page_size(self):
        page = self.get_json("courses/")
        self.assertEqual(len(page["results"]), 20)
        self.assertEqual(self.query_of(page["next"]).get("page"), "2")

    def test_forged_host_does_not_change_links(self):
        r = self.api("GET", "courses/?page=2&page_size=7",
                     headers={"Host": "evil.example:666", "X-Forwarded-Host": "evil.example",
                              "X-Forwarded-Proto": "https"})
        self.assertEqual(r.status, 200, r)
        for link in (r.json["next"], r.json["previous"]):
            self.assertUnderPublicUrl(link)
            self.assertNotIn("evil", link)

    def test_next_keeps_filters(self):
        active = sorted(p["uuid"] for p in self.catalog["program"] if p["status"] == "active")
        self.assertGreater(len(active), 6)
        pages, results = self.server.walk("programs/", {"status": "active", "page_size": 3})
        self.assertUnderPublicUrl(pages[0]["next"], "/api/v1/programs/")
        self.assertEqual(sorted(p["uuid"] for p in results), active)

    def test_course_runs_walk(self):
        public = sorted(r["key"] for r in self.catalog["course_run"] if is_public_run(r))
        pages, results = self.server.walk("course_runs/", {"page_size": 100, "exclude_utm": 1})
        self.assertEqual(pages[0]["count"], len(public))
        keys = [r["key"] for r in results]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual(sorted(keys), public)


if __name__ == "__main__":
    unittest.main()
