"""The background indexer of normal mode (search.indexer = thread, from the
normal profile): writes return at commit and become searchable behind
them; ?wait_for_index=1 waits for that; a search backend that was down is
caught up with; of two processes on one database one indexes at a time
(the PostgreSQL advisory-lock lease), and the other takes over when that
one is killed.

Runs under two tests/pg_fixture.sh (the outer one's URL and control script
as CATALOGD_TEST_SEARCH_URL and CATALOGD_TEST_SEARCH_CTL: the search
index's own database, so it can go down while the store stays up) and
tests/redis_fixture.sh; see tests/CMakeLists.txt.  Without them every test
fails.
"""

import json
import time
import unittest

from harness import SAMPLE_CATALOG, Server, fixture_ctl, fixture_env, full_cli, normal_settings

COURSE = "courses/AldenX+CS101/"
LEASE_TAKEN = "indexer: took the outbox lease"


class NormalIndexer(unittest.TestCase):

    def setUp(self):
        self.search_down = False
        self.addCleanup(self.bring_back)

    def bring_back(self):
        if self.search_down:
            fixture_ctl("CATALOGD_TEST_SEARCH_CTL", "start")
            self.search_down = False

    def server(self, importing=True, **settings):
        settings = dict(normal_settings(), **{"log.access": "false"}, **settings)
        s = Server(catalog=None, writes=True, settings=settings)
        self.addCleanup(s.cleanup)
        if importing:
            r = full_cli(s, "import", SAMPLE_CATALOG)
            self.assertEqual(r.returncode, 0, r.stderr)
        return s

    def count(self, s, q):
        r = s.api("GET", "search/all/", {"q": q})
        return r.json["count"] if r.status == 200 else None

    def until(self, what, check, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        self.fail("not within %ds: %s" % (seconds, what))

    @staticmethod
    def log(s):
        with open(s.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def patch_title(self, s, title, params=None):
        r = s.api("PATCH", COURSE + ("?" + params if params else ""), body={"title": title})
        self.assertEqual(r.status, 200, r)
        return r

    def test_wait_for_index_makes_the_write_searchable_at_once(self):
        s = self.server().start()
        r = self.patch_title(s, "Xylophonics", "wait_for_index=1")
        self.assertNotIn("_index", r.json)
        self.assertEqual(self.count(s, "xylophonics"), 1)

    def test_import_leaves_indexing_to_the_lease_holder(self):
        # A running server's indexer holds the lease: an import in another
        # process writes the records and leaves applying them to it (two
        # appliers at once could put an older document over a newer one).
        s = self.server().start()
        self.until("the server takes the lease", lambda: LEASE_TAKEN in self.log(s), 15)
        line = {"kind": "course", "key": "AldenX+ZX900", "title": "Zymurgical Xenography",
                "owners": ["AldenX"]}
        r = full_cli(s, "import", "-", stdin=json.dumps(line) + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("another process holds the indexer lease", r.stderr)
        self.until("the server's indexer applies the import",
                   lambda: self.count(s, "zymurgical") == 1, 15)

    def test_without_waiting_the_write_is_searchable_soon(self):
        s = self.server(**{"search.poll_interval": "60s"}).start()
        self.patch_title(s, "Quodlibetics")
        # Only the signal of the write can wake the thread within the poll
        # interval of a minute.
        self.until("the write is searchable", lambda: self.count(s, "quodlibetics") == 1, 10)
        self.until("readyz shows no lag",
                   lambda: s.request("GET", "/readyz").json.get("index_lag") == 0, 10)

    def test_search_down_then_up_the_indexer_catches_up(self):
        url = fixture_env("CATALOGD_TEST_SEARCH_URL") + "?schema=@path"
        s = self.server(**{"search.url": url, "store.connect_timeout": "2s",
                           "search.wait_for_index": "true", "search.wait_timeout": "300ms",
                           "search.retry_min": "50ms", "search.retry_max": "500ms"}).start()
        self.assertGreater(self.count(s, "data"), 0)
        fixture_ctl("CATALOGD_TEST_SEARCH_CTL", "stop")
        self.search_down = True
        started = time.monotonic()
        # search.wait_for_index: every write waits, no parameter needed.
        r = self.patch_title(s, "Zymurgy for beginners")
        # The write stands; it says it is not searchable yet, within about
        # the wait timeout.
        self.assertEqual(r.json.get("_index"), "pending", r)
        self.assertLess(time.monotonic() - started, 5)
        # ?wait_for_index=0 opts out: answered at commit, nothing claimed.
        r = s.api("PATCH", "courses/AldenX+BIO101/?wait_for_index=0",
                  body={"title": "Zymurgy, advanced"})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("_index", r.json, r)
        self.assertEqual(s.api("GET", COURSE).json["title"], "Zymurgy for beginners")
        ready = s.request("GET", "/readyz").json
        self.assertGreaterEqual(ready.get("index_lag", 0), 1, ready)
        self.bring_back()
        self.until("the writes made while search was down are indexed",
                   lambda: self.count(s, "zymurgy") == 2, 60)
        self.until("readyz shows no lag",
                   lambda: s.request("GET", "/readyz").json.get("index_lag") == 0, 30)
        self.assertIn("indexer: pass failed", self.log(s))
        self.assertIn("indexer: caught up again", self.log(s))

    def test_two_processes_one_indexes_the_other_takes_over(self):
        fast = {"search.poll_interval": "200ms"}
        a = self.server(**fast).start()
        self.until("a holds the lease", lambda: LEASE_TAKEN in self.log(a), 10)
        b = self.server(importing=False, **dict(fast, **{"store.path": a.store_path,
                                                         "cache.prefix": a.sets["cache.prefix"]}))
        b.start()
        time.sleep(0.5)
        self.assertNotIn(LEASE_TAKEN, self.log(b), "both processes took the lease")
        # A write through b waits for a's indexer (b has no lease).
        r = self.patch_title(b, "Heliotropism", "wait_for_index=1")
        self.assertNotIn("_index", r.json, r)
        self.assertEqual(self.count(b, "heliotropism"), 1)
        self.assertNotIn(LEASE_TAKEN, self.log(b))

        a.proc.kill()  # SIGKILL: its PostgreSQL session ends, the lease with it
        a.proc.wait()
        self.patch_title(b, "Ornithomancy")
        self.until("b took over the lease", lambda: LEASE_TAKEN in self.log(b), 20)
        self.until("b's write is indexed", lambda: self.count(b, "ornithomancy") == 1, 20)
        r = self.patch_title(b, "Catoptromancy", "wait_for_index=1")
        self.assertNotIn("_index", r.json, r)
        self.assertEqual(self.count(b, "catoptromancy"), 1)


if __name__ == "__main__":
    unittest.main()
