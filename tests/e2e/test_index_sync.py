"""Index sync end to end: the search index follows the store through API
writes, imports, crashes and restarts; verify finds drift; reindex repairs
it while a server keeps answering."""

import os
import sqlite3
import threading
import unittest

from harness import Server, generate_catalog, read_jsonl, run_cli

NOW = "2026-06-01T00:00:00Z"


class IndexSyncTest(unittest.TestCase):
    def setUp(self):
        # Every process at the same now, import included: a course document
        # carries the dates of the run picked at now.
        self.server = Server(writes=True, env={"CATALOGD__CLOCK__NOW": NOW})
        self.org = "AldenX"
        self.addCleanup(self.server.cleanup)

    def cli(self, *args):
        """A command on the server's store and index, at the server's clock
        (a course document carries the dates of the run picked at now)."""
        return run_cli(list(args) + ["--set", "store.path=" + self.server.store_path,
                                     "--set", "clock.now=" + NOW])

    def assertVerifyClean(self):
        r = self.cli("verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("index matches the store", r.stdout)

    def search_count(self, q):
        r = self.server.api("GET", "search/all/", {"q": q})
        self.assertEqual(r.status, 200, r)
        return r.json["count"]

    def create_course(self, key, title):
        r = self.server.api("POST", "courses/", body={
            "key": key, "title": title, "owners": [self.org],
            "short_description": "made by the index sync test"})
        self.assertEqual(r.status, 201, r)

    def test_import_then_verify_is_clean(self):
        self.server.start()
        self.assertVerifyClean()

    def test_write_is_searchable_when_the_call_returns(self):
        self.server.start()
        self.assertEqual(self.search_count("quuxology"), 0)
        self.create_course("AldenX+QX1", "Quuxology for beginners")
        self.assertEqual(self.search_count("quuxology"), 1)
        r = self.server.api("PATCH", "courses/AldenX+QX1/", body={"title": "Frobnication"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.search_count("quuxology"), 0)
        self.assertEqual(self.search_count("frobnication"), 1)
        r = self.server.api("DELETE", "courses/AldenX+QX1/")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.search_count("frobnication"), 0)
        ready = self.server.get("/readyz")
        self.assertEqual(ready.status, 200, ready)
        self.assertEqual(ready.json["index_lag"], 0)
        self.assertEqual(ready.json["backends"]["search"], "ok")
        self.assertVerifyClean()

    def test_kill_after_write_then_restart_is_indexed(self):
        self.server.start()
        self.create_course("AldenX+KL1", "Killjoy studies")
        self.server.kill()  # SIGKILL right after the write
        self.server.catalog = None
        self.server.start()
        self.assertEqual(self.search_count("killjoy"), 1)
        self.assertVerifyClean()

    def test_pending_changes_are_applied_at_start(self):
        # A write that was committed but never indexed (as after a crash
        # between the commit and the index): an import with no search.
        self.server.start()
        self.server.stop()
        r = run_cli(["import", "-", "--set", "store.path=" + self.server.store_path,
                     "--set", "search.driver=none", "--set", "clock.now=" + NOW],
                    stdin='{"kind":"course","key":"AldenX+PD1","title":"Pendulum dynamics",'
                          '"owners":["AldenX"]}\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.server.catalog = None
        self.server.start()
        self.assertEqual(self.search_count("pendulum"), 1)
        self.assertVerifyClean()

    def test_verify_reports_drift_and_reindex_repairs_it(self):
        self.server.start()
        self.server.stop()
        index_path = self.server.store_path + "-search"
        self.assertTrue(os.path.exists(index_path))
        with sqlite3.connect(index_path) as db:
            key = db.execute("SELECT key FROM docs WHERE content = 0 ORDER BY key LIMIT 1"
                             ).fetchone()[0]
            db.execute("DELETE FROM docs WHERE content = 0 AND key = ?", (key,))
            db.execute("UPDATE docs SET digest = 'tampered' WHERE content = 2")
            programs = db.execute("SELECT count(*) FROM docs WHERE content = 2").fetchone()[0]
        r = self.cli("verify")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("missing in index: course %s\n" % key, r.stdout)
        self.assertEqual(r.stdout.count("different: program "), programs)
        self.assertIn("course: store ", r.stdout)
        self.assertIn("(counts differ)", r.stdout)
        r = self.cli("reindex")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("reindex: ", r.stderr)
        self.assertVerifyClean()

    def test_reindex_while_serving_keeps_answering(self):
        path = os.path.join(self.server.dir, "big.jsonl")
        generate_catalog(path, 1500)
        self.server.catalog = path
        self.server.start()
        failures, answers = [], [0]
        done = threading.Event()

        def search_loop():
            while not done.is_set():
                r = self.server.api("GET", "search/all/", {"q": "introduction"})
                if r.status != 200 or r.json["count"] == 0:
                    failures.append(r)
                answers[0] += 1

        t = threading.Thread(target=search_loop)
        t.start()
        try:
            r = self.cli("reindex")
        finally:
            done.set()
            t.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(answers[0], 0)
        self.assertEqual(failures, [])
        # Writes after the rebuild are indexed as before.
        self.org = next(r["key"] for r in read_jsonl(path) if r["kind"] == "organization")
        self.create_course(self.org + "+RX1", "Reindexology")
        self.assertEqual(self.search_count("reindexology"), 1)
        self.assertVerifyClean()

    def test_clock_passing_a_run_boundary_is_refreshed(self):
        # A course whose current run ends a day after T1 and whose next run
        # starts the day after: its document (the picked run's dates) is
        # right at T1 and stale at T2 unless refreshed.
        t1, t2 = "2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z"
        path = os.path.join(self.server.dir, "soon.jsonl")
        records = [
            '{"kind":"organization","key":"ChronoX","name":"Chrono"}',
            '{"kind":"course","key":"ChronoX+CH1","title":"Chronometry","owners":["ChronoX"]}',
            '{"kind":"course_run","key":"course-v1:ChronoX+CH1+A","course":"ChronoX+CH1",'
            '"status":"published","start":"2026-05-01T00:00:00Z","end":"2026-06-02T00:00:00Z"}',
            '{"kind":"course_run","key":"course-v1:ChronoX+CH1+B","course":"ChronoX+CH1",'
            '"status":"published","start":"2026-06-03T00:00:00Z"}',
        ]
        with open(path, "w") as f:
            f.write("\n".join(records) + "\n")
        self.server.catalog = path
        self.server.env = {"CATALOGD__CLOCK__NOW": t1}
        self.server.start()
        current = {"q": "chronometry", "availability": "current"}
        r = self.server.api("GET", "search/all/", current)
        self.assertEqual(r.status, 200, r)
        by_type = {h["content_type"]: h for h in r.json["results"]}
        self.assertEqual(by_type["course"]["start"], "2026-05-01T00:00:00Z", r.json)
        self.server.stop()

        r = run_cli(["verify", "--set", "store.path=" + self.server.store_path,
                     "--set", "clock.now=" + t2])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("index matches the store", r.stdout)

        self.server.catalog = None
        self.server.env = {"CATALOGD__CLOCK__NOW": t2}
        self.server.start()
        r = self.server.api("GET", "search/all/", current)
        self.assertEqual(r.status, 200, r)
        by_type = {h["content_type"]: h for h in r.json["results"]}
        self.assertIn("course", by_type, r.json)
        self.assertEqual(by_type["course"]["start"], "2026-06-03T00:00:00Z")

    def test_verify_without_search_is_a_usage_error(self):
        r = run_cli(["verify", "--set", "store.path=" + self.server.store_path,
                     "--set", "search.driver=none"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("search.driver = none", r.stderr)


if __name__ == "__main__":
    unittest.main()
