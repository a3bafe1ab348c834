"""verify and reindex in normal mode: store postgres, search pgfts, against a
private PostgreSQL started here by tests/pg_fixture.sh (a server that cannot
be started fails the test; it never skips).  Import fills the index, verify
finds it clean, then finds rows removed and digests tampered with in the
index, and reindex repairs them while a server keeps answering."""

import glob
import itertools
import os
import subprocess
import unittest

from harness import SAMPLE_CATALOG, SOURCE_DIR, Server, run_cli

NOW = "2026-06-01T00:00:00Z"
_schemas = itertools.count(1)


class PgftsVerifyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The fixture runs a command and stops the server when it ends: the
        # command prints the URL and waits for its stdin to close.
        cls.fixture = subprocess.Popen(
            ["sh", os.path.join(SOURCE_DIR, "tests", "pg_fixture.sh"), "python3", "-c",
             "import os, sys; print(os.environ['PG_FIXTURE_URL'], flush=True); sys.stdin.read()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        cls.url = cls.fixture.stdout.readline().strip()
        if not cls.url.startswith("postgresql://"):
            cls.fixture.wait(30)
            raise AssertionError("tests/pg_fixture.sh did not start PostgreSQL")
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        cls.psql = os.path.join(bindirs[-1], "psql") if bindirs else "psql"

    @classmethod
    def tearDownClass(cls):
        cls.fixture.stdin.close()
        cls.fixture.wait(60)

    def setUp(self):
        self.schema = "e2e_pgfts_%d_%d" % (os.getpid(), next(_schemas))
        self.server = Server(catalog=None, writes=True, settings={
            "store.driver": "postgres",
            "store.url": "%s?schema=%s" % (self.url, self.schema),
            "search.driver": "pgfts",
            "cache.driver": "memory",
            "clock.now": NOW,
        })
        self.addCleanup(self.server.cleanup)

    def cli(self, *args):
        """A command with every setting of the server (search.* included)."""
        return run_cli(list(args) + self.server.set_args())

    def sql(self, statement):
        r = subprocess.run([self.psql, self.url, "-At", "-v", "ON_ERROR_STOP=1", "-c",
                            "SET search_path = %s; %s" % (self.schema, statement)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip().splitlines()

    def assertVerifyClean(self):
        r = self.cli("verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("index matches the store", r.stdout)

    def search_count(self, q):
        r = self.server.api("GET", "search/all/", {"q": q})
        self.assertEqual(r.status, 200, r)
        return r.json["count"]

    def test_verify_finds_drift_and_reindex_repairs_it(self):
        r = self.cli("import", SAMPLE_CATALOG)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertVerifyClean()
        docs = int(self.sql("SELECT count(*) FROM search_docs")[-1])
        self.assertGreater(docs, 3)

        key = self.sql("SELECT key FROM search_docs WHERE content = 0 ORDER BY key LIMIT 1")[-1]
        self.sql("DELETE FROM search_docs WHERE content = 0 AND key = '%s'"
                 % key.replace("'", "''"))
        self.sql("UPDATE search_docs SET digest = 'tampered' WHERE content = 2")
        programs = int(self.sql("SELECT count(*) FROM search_docs WHERE content = 2")[-1])
        self.assertGreater(programs, 0)
        r = self.cli("verify")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("missing in index: course %s\n" % key, r.stdout)
        self.assertEqual(r.stdout.count("different: program "), programs)

        # Reindex while a server answers searches from the same index.
        self.server.start()
        before = self.search_count("")
        self.assertGreater(before, 0)
        r = self.cli("reindex")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("reindex: ", r.stderr)
        self.assertVerifyClean()
        self.assertEqual(int(self.sql("SELECT count(*) FROM search_docs")[-1]), docs)
        self.assertGreaterEqual(self.search_count(""), before)

    def test_a_write_reaches_the_index_and_verify_agrees(self):
        r = self.cli("import", SAMPLE_CATALOG)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.server.start()
        self.assertEqual(self.search_count("quuxology"), 0)
        owner = self.server.get_json("organizations/")["results"][0]["key"]
        r = self.server.api("POST", "courses/", body={
            "key": owner + "+QX1", "title": "Quuxology for beginners", "owners": [owner]})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.search_count("quuxology"), 1)
        hit = self.sql("SELECT hit FROM search_docs WHERE content = 0 AND key = '%s+QX1'"
                       % owner.replace("'", "''"))
        self.assertIn("Quuxology for beginners", hit[-1])
        self.assertVerifyClean()


if __name__ == "__main__":
    unittest.main()
