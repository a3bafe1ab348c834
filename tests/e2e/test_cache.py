"""The response cache seen from outside: a GET answered again is a hit
(X-Cache: hit) with the same bytes; after a write through the API, or a
`catalogd import` run by another process on the same store, every affected
response changes at once; entries expire after cache.ttl; operational
routes and errors are never cached; cache.driver = none serves uncached."""

import json
import os
import re
import time
import unittest

from harness import SAMPLE_CATALOG, Server, ServerTestCase, read_jsonl

CLOCK = "2026-06-01T00:00:00Z"
COURSE = "AldenX+DS200"
ORG = "AldenX"
# "Data Science" holds COURSE, so its detail and list nest the course.
PROGRAM = "72bdf858-ba71-5619-b986-f6273c52f987"


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


class CacheTestCase(ServerTestCase):
    def get(self, path, params=None):
        """GET path (relative to /api/v1/) -> (status, X-Cache, raw body)."""
        r = self.api("GET", path, params)
        return r.status, r.header("X-Cache"), r.body

    def assertHit(self, path, params=None, body=None):
        status, xc, got = self.get(path, params)
        self.assertEqual((status, xc), (200, "hit"), path)
        if body is not None:
            self.assertEqual(got, body, path)
        return got

    def warm(self, path, params=None):
        """GET until cached; returns the cached body."""
        status, _, body = self.get(path, params)
        self.assertEqual(status, 200, path)
        return self.assertHit(path, params, body)


class Cached(CacheTestCase):
    server_options = {"writes": True, "clock_now": CLOCK}

    def test_second_get_is_a_hit_with_the_same_bytes(self):
        status, xc, body = self.get("courses/", "limit=7&offset=3")
        self.assertEqual((status, xc), (200, "miss"))
        self.assertHit("courses/", "limit=7&offset=3", body)
        # The same request spelled differently meets the same entry.
        self.assertHit("courses/", "offset=3&limit=7", body)
        self.assertHit("courses/", "off%73et=3&limit=%37", body)
        # HEAD is answered from the same entry.
        r = self.server.request("HEAD", "/api/v1/courses/?limit=7&offset=3")
        self.assertEqual((r.status, r.header("X-Cache"), r.body), (200, "hit", b""))
        # A different query is a different entry.
        self.assertEqual(self.get("courses/", "limit=7&offset=4")[1], "miss")

    def test_key_escapes_meet(self):
        # %2B and %2b and the unescaped path all name one course.
        status, xc, body = self.get("courses/", "keys=AldenX%2BDS200")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["count"], 1)
        self.assertHit("courses/", "keys=AldenX%2bDS200", body)

    def test_operational_routes_and_errors_are_not_cached(self):
        for path in ("/healthz", "/health/", "/readyz", "/metrics"):
            for _ in range(2):
                r = self.server.request("GET", path)
                self.assertEqual(r.status, 200, path)
                self.assertIsNone(r.header("X-Cache"), path)
        for _ in range(2):
            status, xc, _ = self.get("courses/NoSuchX+NOPE/")
            self.assertEqual((status, xc), (404, "miss"))
            status, xc, _ = self.get("courses/", "limit=-1")
            self.assertEqual((status, xc), (400, "miss"))
        # Writes are never looked up.
        r = self.api("PATCH", "courses/NoSuchX+NOPE/", body={"title": "x"})
        self.assertEqual(r.status, 404)
        self.assertIsNone(r.header("X-Cache"))

    def test_metrics_count_hits_and_misses(self):
        before = self.server.request("GET", "/metrics").body.decode()
        self.get("courses/", "limit=3&offset=11")
        self.get("courses/", "limit=3&offset=11")
        self.get("courses/", "limit=3&offset=11")
        after = self.server.request("GET", "/metrics").body.decode()
        for name in ("catalogd_cache_hits_total", "catalogd_cache_misses_total",
                     "catalogd_cache_evictions_total", "catalogd_cache_bytes"):
            self.assertIsNotNone(metric(after, name), name)
        self.assertEqual(metric(after, "catalogd_cache_hits_total") -
                         metric(before, "catalogd_cache_hits_total"), 2)
        self.assertEqual(metric(after, "catalogd_cache_misses_total") -
                         metric(before, "catalogd_cache_misses_total"), 1)
        self.assertGreater(metric(after, "catalogd_cache_bytes"), 0)

    def affected(self):
        """Responses that show the course's title or its owner's name."""
        return [("courses/%s/" % COURSE, None), ("courses/", "limit=100"),
                ("courses/", "keys=AldenX%2BDS200"), ("programs/%s/" % PROGRAM, None),
                ("programs/", "limit=100"), ("organizations/%s/" % ORG, None)]

    def test_api_write_changes_every_affected_response(self):
        paths = self.affected()
        for path, params in paths:
            self.warm(path, params)
        course = self.get_json("courses/%s/" % COURSE)
        title = course["title"]
        new_title = title + " (cache test)"
        r = self.api("PATCH", "courses/%s/" % COURSE, body={"title": new_title})
        self.assertEqual(r.status, 200, r)
        try:
            for path, params in paths[:5]:
                status, xc, body = self.get(path, params)
                self.assertEqual((status, xc), (200, "miss"), path)
                self.assertIn(new_title.encode(), body, path)
                self.assertHit(path, params, body)
        finally:
            r = self.api("PATCH", "courses/%s/" % COURSE, body={"title": title})
            self.assertEqual(r.status, 200, r)
        for path, params in paths[:5]:
            body = self.get(path, params)[2]
            self.assertNotIn(new_title.encode(), body, path)

        # An organization's name shows nested in courses and programs.
        name = self.get_json("organizations/%s/" % ORG)["name"]
        for path, params in paths:
            self.warm(path, params)
        r = self.api("PATCH", "organizations/%s/" % ORG, body={"name": name + " Renamed"})
        self.assertEqual(r.status, 200, r)
        try:
            for path, params in paths:
                status, xc, body = self.get(path, params)
                self.assertEqual((status, xc), (200, "miss"), path)
                self.assertIn((name + " Renamed").encode(), body, path)
        finally:
            self.assertEqual(self.api("PATCH", "organizations/%s/" % ORG,
                                      body={"name": name}).status, 200)

    def test_search_follows_writes(self):
        # A search cached before a write (here: no hits) is not served after
        # it; the index generation moves with the indexer.
        word = "zyzzogeton"
        for path in ("search/all/", "search/courses/"):
            body = self.warm(path, "q=" + word)
            self.assertEqual(json.loads(body)["count"], 0, path)
        path = "courses/%s/" % COURSE
        title = self.get_json(path)["title"]
        self.assertEqual(self.api("PATCH", path, body={"title": "Zyzzogeton " + title}).status, 200)
        try:
            for p in ("search/all/", "search/courses/"):
                status, xc, body = self.get(p, "q=" + word)
                self.assertEqual((status, xc), (200, "miss"), p)
                self.assertEqual([r.get("key") for r in json.loads(body)["results"]], [COURSE], p)
                self.assertHit(p, "q=" + word, body)
        finally:
            self.assertEqual(self.api("PATCH", path, body={"title": title}).status, 200)
        self.assertEqual(json.loads(self.get("search/all/", "q=" + word)[2])["count"], 0)

    def test_delete_and_create_change_lists_and_details(self):
        key = "AldenX+CACHE1"
        self.assertEqual(self.get("courses/%s/" % key)[0], 404)
        count = json.loads(self.warm("courses/", "limit=1"))["count"]
        r = self.api("POST", "courses/", body={"key": key, "title": "Cached Then Gone",
                                               "owners": [ORG]})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(json.loads(self.get("courses/", "limit=1")[2])["count"], count + 1)
        self.warm("courses/%s/" % key)
        self.warm("courses/", "limit=1")
        self.assertEqual(self.api("DELETE", "courses/%s/" % key).status, 204)
        self.assertEqual(self.get("courses/%s/" % key)[0], 404)
        self.assertEqual(json.loads(self.get("courses/", "limit=1")[2])["count"], count)

    def test_import_in_another_process_is_seen_at_once(self):
        path = "courses/%s/" % COURSE
        self.warm(path)
        self.warm("programs/%s/" % PROGRAM)
        record = next(r for r in read_jsonl(SAMPLE_CATALOG)
                      if r["kind"] == "course" and r["key"] == COURSE)
        new_title = record["title"] + " (imported)"
        changed = os.path.join(self.server.dir, "changed.jsonl")
        with open(changed, "w", encoding="utf-8") as f:
            f.write(json.dumps(dict(record, title=new_title)) + "\n")
        self.server.import_file(changed)
        try:
            for p in (path, "programs/%s/" % PROGRAM):
                status, xc, body = self.get(p)
                self.assertEqual((status, xc), (200, "miss"), p)
                self.assertIn(new_title.encode(), body, p)
        finally:
            with open(changed, "w", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            self.server.import_file(changed)
        self.assertEqual(json.loads(self.get(path)[2])["title"], record["title"])

    def test_write_by_a_second_server_is_seen_at_once(self):
        path = "courses/%s/" % COURSE
        self.warm(path)
        other = Server(catalog=None, clock_now=CLOCK, writes=True)
        try:
            other.sets["store.path"] = self.server.store_path
            other.start()
            title = self.get_json(path)["title"]
            r = other.api("PATCH", path, body={"title": title + " (other)"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.get_json(path)["title"], title + " (other)")
            self.assertEqual(other.api("PATCH", path, body={"title": title}).status, 200)
            self.assertEqual(self.get_json(path)["title"], title)
            self.assertEqual(other.stop(), 0)
        finally:
            other.cleanup()


class Expiry(CacheTestCase):
    server_options = {"clock_now": CLOCK, "settings": {"cache.ttl": "1"}}

    def test_expired_entry_served_stale_and_refreshed_off_the_request(self):
        body = self.warm("subjects/")
        time.sleep(1.3)
        # The request elected to refresh gets the old bytes at once, as
        # every other does, while the page is recomputed on the refresher
        # thread (src/cache_refresher.h); no request computes it.
        status, xc, again = self.get("subjects/")
        self.assertEqual((status, xc, again), (200, "stale", body))
        seen = []
        deadline = time.time() + 5
        while time.time() < deadline:
            status, xc, again = self.get("subjects/")
            seen.append(xc)
            if xc == "hit":
                break
            time.sleep(0.05)
        self.assertEqual((status, xc, again), (200, "hit", body), seen)
        self.assertNotIn("miss", seen)


class ExpiryWithoutGrace(CacheTestCase):
    server_options = {"clock_now": CLOCK,
                      "settings": {"cache.ttl": "1", "cache.stale_ttl": "0"}}

    def test_entries_expire_after_ttl(self):
        body = self.warm("subjects/")
        time.sleep(1.3)
        status, xc, again = self.get("subjects/")
        self.assertEqual((status, xc, again), (200, "miss", body))
        self.assertHit("subjects/", None, body)


class Uncached(CacheTestCase):
    server_options = {"writes": True, "clock_now": CLOCK, "settings": {"cache.driver": "none"}}

    def test_no_cache_serves_every_request_fresh(self):
        path = "courses/%s/" % COURSE
        for _ in range(2):
            status, xc, body = self.get(path)
            self.assertEqual((status, xc), (200, None))
        title = json.loads(body)["title"]
        self.assertEqual(self.api("PATCH", path, body={"title": title + "!"}).status, 200)
        self.assertEqual(self.get_json(path)["title"], title + "!")
        self.assertEqual(self.api("PATCH", path, body={"title": title}).status, 200)
        text = self.server.request("GET", "/metrics").body.decode()
        self.assertIsNone(metric(text, "catalogd_cache_hits_total"))


if __name__ == "__main__":
    unittest.main()
