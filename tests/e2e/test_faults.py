"""Faults handled on purpose (docs/modes.md, "Faults"): Redis, PostgreSQL
or the search backend goes down under a running catalogd in normal mode,
and comes back.

Runs under two tests/pg_fixture.sh (the outer one's URL and control script
as CATALOGD_TEST_SEARCH_URL and CATALOGD_TEST_SEARCH_CTL: the search
index's database) and tests/redis_fixture.sh; see tests/CMakeLists.txt.
"""

import subprocess
import time
import unittest
import urllib.parse

from harness import (SAMPLE_CATALOG, Server, fixture_ctl, fixture_env, full_cli,
                     normal_settings)

COURSE = "courses/AldenX+CS101/"
UNCACHED_WARNING = "serving uncached until it answers again"


class Fault(unittest.TestCase):
    """A server in normal mode and a fixture server this test may stop;
    whatever happens, the fixture server is running again afterwards."""

    ctl = None  # the fixture's control script variable

    def setUp(self):
        self.down = False
        self.addCleanup(self.bring_back)

    def take_down(self):
        fixture_ctl(self.ctl, "stop")
        self.down = True

    def bring_back(self):
        if self.down:
            fixture_ctl(self.ctl, "start")
            self.down = False

    def start_server(self, **settings):
        # No access log: the process log lines this test counts stay few.
        settings = dict(normal_settings(), **{"log.access": "false"}, **settings)
        s = Server(catalog=None, writes=True, settings=settings)
        self.addCleanup(s.cleanup)
        r = full_cli(s, "import", SAMPLE_CATALOG)
        self.assertEqual(r.returncode, 0, r.stderr)
        return s.start()

    @staticmethod
    def log(s):
        """The server's whole stderr (the process log)."""
        with open(s.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def assert_alive(self, s):
        self.assertIsNone(s.proc.poll(), "catalogd died: %s" % s.stderr_text())
        self.assertEqual(s.request("GET", "/healthz").status, 200)

    def assert_drf_503(self, r):
        self.assertEqual(r.status, 503, r)
        self.assertIsInstance(r.json, dict, r)
        self.assertIsInstance(r.json.get("detail"), str, r)
        self.assertIn("json", (r.header("Content-Type") or "").lower())

    def until(self, what, check, seconds=30):
        """Polls check() until it is true; fails after seconds."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        self.fail("not within %ds: %s" % (seconds, what))


class RedisDown(Fault):
    ctl = "CATALOGD_TEST_REDIS_CTL"

    def test_uncached_while_down_warned_once_and_nothing_stale_after(self):
        s = self.start_server()
        before = s.get_json(COURSE)["title"]
        self.assertEqual(s.api("GET", COURSE).header("X-Cache"), "hit")

        self.take_down()
        for i in range(30):
            r = s.api("GET", COURSE)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["title"], before)
            self.assertNotEqual(r.header("X-Cache"), "hit", "served from a cache that is down")
            self.assertEqual(s.api("GET", "courses/", {"page_size": i + 1}).status, 200)
        ready = s.request("GET", "/readyz")
        self.assertEqual(ready.status, 200, ready)
        self.assertEqual(ready.json["status"], "degraded", ready)
        self.assertEqual(ready.json["degraded"], ["cache"], ready)
        self.assertEqual(ready.json["backends"]["cache"], "unavailable", ready)
        self.assertEqual(ready.json["backends"]["store"], "ok", ready)

        # A write while Redis is down cannot bump the shared generation.
        r = s.api("PATCH", COURSE, body={"title": before + " (outage)"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(s.get_json(COURSE)["title"], before + " (outage)")
        self.assertEqual(self.log(s).count(UNCACHED_WARNING), 1, self.log(s))

        self.bring_back()
        # Nothing cached before or during the outage is served...
        # ...and the cache is used again once the driver's reconnect
        # back-off (up to 5 s) has passed.
        def hit_with_the_write():
            r = s.api("GET", COURSE)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["title"], before + " (outage)", r.header("X-Cache"))
            return r.header("X-Cache") == "hit"

        self.until("a cache hit after Redis is back", hit_with_the_write, seconds=20)
        ready = s.request("GET", "/readyz")
        self.assertEqual((ready.status, ready.json["status"]), (200, "ready"), ready)
        self.assertNotIn("degraded", ready.json)
        self.assertIn("cache: answering again", self.log(s))
        self.assertEqual(self.log(s).count(UNCACHED_WARNING), 1)
        self.assertEqual(s.stop(), 0)


class RedisUnreachableButKeepingItsData(Fault):
    """Redis stalls (CLIENT PAUSE) rather than restarts: entries cached
    before the stall are still in it afterwards, under a generation the
    write made meanwhile could not bump.  The outage epoch must keep them
    from being served."""

    def redis_cli(self, *args):
        url = urllib.parse.urlsplit(fixture_env("CATALOGD_TEST_REDIS_URL"))
        subprocess.run(["redis-cli", "-h", url.hostname, "-p", str(url.port)] + list(args),
                       check=True, capture_output=True, timeout=10)

    def test_entries_from_before_a_stall_are_not_served_after_it(self):
        s = self.start_server(**{"cache.command_timeout": "100ms"})
        before = s.get_json(COURSE)["title"]
        self.until("the course is cached", lambda: s.api("GET", COURSE).header("X-Cache") ==
                   "hit")
        self.redis_cli("CLIENT", "PAUSE", "1500", "ALL")
        t0 = time.monotonic()
        r = s.api("PATCH", COURSE, body={"title": before + " (stalled)"})
        self.assertEqual(r.status, 200, r)
        time.sleep(max(0, 1.7 - (time.monotonic() - t0)))
        # The stall did cost the write its bump (else this proves nothing).
        self.assertIn("cannot bump the catalog generation", self.log(s))
        # The entry from before the stall is still in Redis under the
        # generation it was stored at; it is never served again.
        def fresh_and_cached():
            r = s.api("GET", COURSE)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["title"], before + " (stalled)", r.header("X-Cache"))
            return r.header("X-Cache") == "hit"

        self.until("a cache hit after the stall", fresh_and_cached, seconds=20)
        self.assertEqual(s.stop(), 0)


class PostgresDown(Fault):
    ctl = "PG_FIXTURE_CTL"

    def test_503_within_the_timeout_then_recovers_by_itself(self):
        s = self.start_server(**{"store.connect_timeout": "2s",
                                 "store.statement_timeout": "2000ms"})
        self.assertEqual(s.api("GET", COURSE).status, 200)

        self.take_down()
        for i in range(3):
            t0 = time.monotonic()
            # A page size never asked before: not in the cache.
            r = s.api("GET", "courses/", {"page_size": 40 + i})
            elapsed = time.monotonic() - t0
            self.assert_drf_503(r)
            self.assertLess(elapsed, 8, "503 took %.1fs with a 2 s connect timeout" % elapsed)
        self.assert_drf_503(s.api("PATCH", COURSE, body={"title": "Nope"}))
        ready = s.request("GET", "/readyz")
        self.assertEqual(ready.status, 503, ready)
        self.assertEqual(ready.json["status"], "unavailable", ready)
        self.assertEqual(ready.json["backends"]["store"], "unavailable", ready)
        self.assert_alive(s)

        self.bring_back()
        self.until("the store answers again",
                   lambda: s.api("GET", "courses/", {"page_size": 60}).status == 200)
        r = s.api("PATCH", COURSE, body={"title": "Back again"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(s.get_json(COURSE)["title"], "Back again")
        self.until("readyz is ready", lambda: s.request("GET", "/readyz").status == 200)
        self.assertEqual(s.stop(), 0)


class SearchDown(Fault):
    """The pgfts index in its own database (CATALOGD_TEST_SEARCH_URL), which
    goes down while the store stays up."""

    ctl = "CATALOGD_TEST_SEARCH_CTL"

    def search_count(self, s, q):
        r = s.api("GET", "search/all/", {"q": q})
        return r.json["count"] if r.status == 200 else None

    def test_search_503_everything_else_serves(self):
        url = fixture_env("CATALOGD_TEST_SEARCH_URL") + "?schema=@path"
        s = self.start_server(**{"search.url": url, "store.connect_timeout": "2s"})
        self.assertGreater(self.search_count(s, "data"), 0)

        self.take_down()
        # Requests not answered before: an answer already in the response
        # cache may still be served (until a write or cache.ttl).
        for path in ("search/all/", "search/courses/facets/", "search/typeahead/"):
            self.assert_drf_503(s.api("GET", path, {"q": "data", "page_size": 17}))
        self.assert_drf_503(s.api("GET", "courses/", {"q": "data", "page_size": 17}))
        self.assertEqual(s.api("GET", "courses/").status, 200)
        self.assertEqual(s.api("GET", COURSE).status, 200)
        r = s.api("PATCH", COURSE, body={"title": "Zymurgy for beginners"})
        self.assertEqual(r.status, 200, r)
        ready = s.request("GET", "/readyz")
        self.assertEqual(ready.status, 200, ready)
        self.assertEqual(ready.json["status"], "degraded", ready)
        self.assertEqual(ready.json["degraded"], ["search"], ready)
        self.assert_alive(s)

        self.bring_back()
        # The write made meanwhile reaches the index once it is back.
        self.until("search answers with the write made while it was down",
                   lambda: self.search_count(s, "zymurgy") == 1, seconds=60)
        self.until("readyz is ready", lambda: s.request("GET", "/readyz").json["status"] ==
                   "ready")
        self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
