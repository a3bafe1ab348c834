"""Checks of the benchmark generators: python3 -m unittest discover -s bench -p 'test_*.py'

The import check runs the catalogd binary named by CATALOGD_BIN, else
bench/.build/catalogd (built by bench/run).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import gen_corpus  # noqa: E402
import gen_queries  # noqa: E402


def corpus_text(n, seed):
    with tempfile.TemporaryFile("w+") as f:
        gen_corpus.generate(n, seed, gen_corpus.DEFAULT_NOW, f)
        f.seek(0)
        return f.read()


class CorpusTest(unittest.TestCase):
    def test_deterministic_by_seed(self):
        self.assertEqual(corpus_text(30, 5), corpus_text(30, 5))
        self.assertNotEqual(corpus_text(30, 5), corpus_text(30, 6))

    def test_shape(self):
        recs = [json.loads(line) for line in corpus_text(300, 1).splitlines()]
        kinds = {}
        for r in recs:
            kinds.setdefault(r["kind"], []).append(r)
        self.assertEqual(len(kinds["course"]), 300)
        self.assertEqual(len(kinds["subject"]), 30)
        self.assertTrue(50 <= len(kinds["organization"]) <= 500)
        for c in kinds["course"]:
            self.assertTrue(3 <= len(c["title"].split()) <= 10, c["title"])
            self.assertTrue(50 <= len(c["full_description"].split()) <= 400)
            self.assertTrue(1 <= len(c["course_runs"]) <= 4)
        starts = [run["start"] for c in kinds["course"] for run in c["course_runs"]]
        now = gen_corpus.DEFAULT_NOW
        self.assertTrue(any(s < now for s in starts) and any(s > now for s in starts))
        self.assertEqual(len({c["key"] for c in kinds["course"]}), 300)

    @unittest.skipUnless(os.environ.get("CATALOGD_BIN") or
                         os.path.exists(os.path.join(BENCH, ".build", "catalogd")),
                         "no catalogd binary (set CATALOGD_BIN or run bench/run)")
    def test_imports_cleanly(self):
        exe = os.environ.get("CATALOGD_BIN") or os.path.join(BENCH, ".build", "catalogd")
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "c.jsonl")
            with open(src, "w") as f:
                f.write(corpus_text(40, 3))
            out = subprocess.run([exe, "import", src, "--set", "store.path=" + d + "/c.db"],
                                 capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("0 invalid", out.stdout + out.stderr)


class QueriesTest(unittest.TestCase):
    def test_distinct_aligned_deterministic(self):
        a = gen_queries.generate(1, 2000)
        self.assertEqual(a, gen_queries.generate(1, 2000))
        search, match, facets, typeahead = a
        self.assertEqual(len(search), 2000)
        self.assertEqual(len(set(search)), len(search))
        self.assertEqual(len(search), len(match))
        self.assertTrue(any(q.startswith('"') for q in search))
        self.assertTrue(any(q.endswith("*") for q in search))
        self.assertTrue(all("_exact:" in p for _, p in facets))
        self.assertTrue(typeahead)

    def test_match_expression_is_quoted(self):
        self.assertEqual(gen_queries.fts_string('a"b'), '"a""b"')
        self.assertEqual(gen_queries.fts_string("pre", True), '"pre"*')
        for q, m in zip(*gen_queries.generate(2, 300)[:2]):
            words = q.strip('"*').split()
            self.assertTrue(all('"' + w in m or w in m for w in words), (q, m))

    def test_pg_tsquery(self):
        # pgfts.c's tsq() for the parser's trees (src/search_query.c): the
        # texts catalogd sent for these q, read back from PostgreSQL's log,
        # parse to the same tsquery as these (parentheses aside).
        cases = [("gix", "('gix')"),
                 ("mast dex nibru", "(('mast') & ('dex') & ('nibru'))"),
                 ('"lam ril"', "('lam' <-> 'ril')"),
                 ("losdra*", "('losdra':*)"),
                 ('"ab cd"*', "('ab' <-> 'cd':*)"),
                 ("Foo-Bar baz", "(('foo' <-> 'bar') & ('baz'))")]
        for q, want in cases:
            self.assertEqual(gen_queries.pg_tsquery(q), want, q)
        for bad in ("a OR b", "title:x", "-a", "(a)", "caf\u00e9"):
            with self.assertRaises(ValueError, msg=bad):
                gen_queries.pg_tsquery(bad)
        search = gen_queries.generate(3, 500)[0]
        self.assertTrue(all(gen_queries.pg_tsquery(q) for q in search))


class NormalRowsTest(unittest.TestCase):
    """bench/run's table: normal mode's rows, and none when it did not run."""

    @classmethod
    def setUpClass(cls):
        import importlib.machinery
        import importlib.util
        loader = importlib.machinery.SourceFileLoader("bench_run", os.path.join(BENCH, "run"))
        spec = importlib.util.spec_from_loader("bench_run", loader)
        cls.bench = importlib.util.module_from_spec(spec)
        loader.exec_module(cls.bench)

    def test_not_available_and_absent(self):
        self.assertEqual(self.bench.normal_rows({}), [])
        rows = self.bench.normal_rows({"normal": {"available": False, "why": "no redis"}})
        self.assertEqual(rows[0][0], "normal mode")
        self.assertIn("not available: no redis", rows[0][-1])

    def test_rows_marked_normal_with_context_status(self):
        wrk = {"rps": 100.0, "p50_ms": 1.0, "p99_ms": 2.0}
        size = {"import": {"courses_per_s": 300.0, "raw_courses_per_s": 600.0, "ratio": 0.5,
                           "finished": True, "index_included": True, "seconds": 3.0},
                "cached_get": {"detail": {"bytes": 2000, "catalogd": wrk, "nginx": wrk,
                                          "ratio": 1.0, "p99_ratio": 1.0},
                               "list": {"available": False, "why": "GET -> 500"}},
                "search": dict(wrk, latency=wrk, raw={"qps": 200.0, "p50_ms": 1.0,
                                                       "p99_ms": 2.0}, ratio=0.5),
                "facets": dict(wrk, latency=wrk),
                "typeahead": {"available": False, "why": "probe failed"}}
        rows = self.bench.normal_rows({"normal": {"sizes": {"10000": size}}})
        self.assertTrue(all(r[0].startswith("normal") for r in rows))
        names = " ".join(r[0] for r in rows)
        for part in ("import 10000", "cached GET detail", "cached GET list", "search 10000",
                     "facets 10000", "typeahead 10000"):
            self.assertIn(part, names)
        self.assertTrue(all(r[-1] == "context" or r[-1].startswith("not available")
                            for r in rows), rows)
        big = self.bench.normal_rows({"normal": {"sizes": {"100000": size}}})
        search = [r for r in big if r[0].startswith("normal: search")][0]
        self.assertEqual(search[-1], "**missed**")


if __name__ == "__main__":
    unittest.main()
