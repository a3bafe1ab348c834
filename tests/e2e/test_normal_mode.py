"""Normal mode end to end: several catalogd processes over one PostgreSQL
and one Redis, and moving a catalog from express to normal.

Runs under tests/pg_fixture.sh and tests/redis_fixture.sh (see
tests/CMakeLists.txt); without them every test fails.
"""

import os
import time
import unittest

from harness import (SAMPLE_CATALOG, Server, full_cli, normal_settings, run_cli, sorted_json)

COURSE = "courses/AldenX+CS101/"
CLOCK = "2026-03-01T00:00:00Z"
# Both servers build absolute links (next, previous) from this, so that
# pages can be compared byte for byte.
PUBLIC_URL = "http://catalog.test"

LISTS = ["organizations", "subjects", "program_types", "courses", "course_runs", "programs",
         "pathways"]


def process_of(response):
    """The answering process: the random per-process prefix of the
    X-Request-Id the server made up (server.c, make_request_id)."""
    return (response.header("X-Request-Id") or "").split("-")[0]


class SeveralProcesses(unittest.TestCase):
    """N processes sharing PostgreSQL and Redis, on one port or on several."""

    def server(self, **kw):
        s = Server(**kw)
        self.addCleanup(s.cleanup)
        return s

    def title_everywhere(self, servers, want, tries=1):
        for s in servers:
            for _ in range(tries):
                r = s.api("GET", COURSE)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["title"], want, "a stale answer from %s" % process_of(r))

    def test_two_processes_on_one_port_both_answer_and_share_writes(self):
        settings = normal_settings()
        a = self.server(writes=True, settings=settings)
        a.start()
        first = process_of(a.get("/healthz"))
        b = self.server(catalog=None, writes=True,
                        settings=dict(settings, **{"store.path": a.store_path}))
        b.port, b.listen = a.port, a.listen
        b.sets["server.listen"] = a.listen
        b.start()  # its /healthz poll may be answered by a
        # Wait until b answers too (it may still be opening its backends).
        deadline = time.monotonic() + 20
        while process_of(a.get("/healthz")) == first and time.monotonic() < deadline:
            self.assertIsNone(b.proc.poll(), b.stderr_text())
            time.sleep(0.05)
        self.assertIsNone(b.proc.poll(), "second process on the port exited: %s" %
                          b.stderr_text())
        self.assertIsNone(a.proc.poll(), a.stderr_text())

        # New connections are spread by the kernel (SO_REUSEPORT): over 80
        # of them, both processes answer (all on one: p = 2^-79).
        seen, bodies = set(), set()
        for _ in range(80):
            r = a.api("GET", "courses/", {"page_size": 5})
            self.assertEqual(r.status, 200, r)
            seen.add(process_of(r))
            bodies.add(r.body)
        self.assertEqual(len(seen), 2, "answered by %r only" % seen)
        self.assertEqual(len(bodies), 1, "the two processes answer differently")

        # Cache the course everywhere, write it through whichever process
        # takes the PATCH, and every later answer from either shows it.
        before = a.get_json(COURSE)["title"]
        # Each pool thread of each process may miss once first.
        hits = [a.api("GET", COURSE).header("X-Cache") for _ in range(80)]
        self.assertIn("hit", hits)
        r = a.api("PATCH", COURSE, body={"title": before + " (shared)"})
        self.assertEqual(r.status, 200, r)
        seen = set()
        for _ in range(40):
            r = a.api("GET", COURSE)
            self.assertEqual(r.json["title"], before + " (shared)", r)
            seen.add(process_of(r))
        self.assertEqual(len(seen), 2, seen)
        self.assertEqual(b.stop(), 0)
        self.assertEqual(a.stop(), 0)

    def test_write_through_one_port_is_seen_at_once_on_another(self):
        settings = normal_settings()
        a = self.server(writes=True, settings=settings)
        a.start()
        b = self.server(catalog=None, writes=True,
                        settings=dict(settings, **{"store.path": a.store_path}))
        b.start()
        before = b.get_json(COURSE)["title"]
        self.assertEqual(b.api("GET", COURSE).header("X-Cache"), "hit")
        for i in range(3):
            title = "%s v%d" % (before, i)
            writer, reader = (a, b) if i % 2 == 0 else (b, a)
            self.assertEqual(writer.api("PATCH", COURSE, body={"title": title}).status, 200)
            # At once: no sleep, no retry.
            self.title_everywhere([reader, writer], title, tries=2)
            # The cache is used again (each pool thread of the reader may
            # first miss once while its view of the counters catches up).
            hits = [reader.api("GET", COURSE).header("X-Cache") for _ in range(60)]
            self.assertIn("hit", hits)
        self.assertEqual(b.stop(), 0)
        self.assertEqual(a.stop(), 0)


# Queries whose hits and facet counts must agree between fts5 and pgfts
# (the conformance queries of tests/test_search.c's spirit: a word, an OR,
# a negation, a phrase, and no query at all).
SEARCH_QUERIES = [None, "data", "introduction OR science", "-data", '"machine learning"',
                  "history"]
SEARCH_ENDPOINTS = ["all", "courses", "course_runs", "programs"]


def without_pathway_ids(value):
    """value with the "id" of every pathway object dropped.  A pathway's
    integer id is assigned by the store it is written to, and export leaves
    it out (uuid is the key), so a moved catalog numbers its pathways in
    import order: the one known difference (docs/operations.md)."""
    if isinstance(value, list):
        return [without_pathway_ids(v) for v in value]
    if isinstance(value, dict):
        return {k: without_pathway_ids(v) for k, v in value.items()
                if not (k == "id" and "pathway_type" in value)}
    return value


def same(value):
    return sorted_json(without_pathway_ids(value))


class ExpressToNormal(unittest.TestCase):
    """catalogd export from an express catalog, catalogd import into a
    normal one: the same API answers (docs/operations.md, "Upgrading from
    express to normal")."""

    @classmethod
    def setUpClass(cls):
        common = {"server.public_url": PUBLIC_URL}
        # Both imports see the same clock as both servers: search documents
        # carry availability computed at indexing time.
        cls.express = Server(catalog=None, clock_now=CLOCK,
                             settings=dict(common, **{"mode": "express"}))
        cls.normal = Server(catalog=None, clock_now=CLOCK, settings=dict(common,
                                                                         **normal_settings()))
        try:
            r = full_cli(cls.express, "import", SAMPLE_CATALOG)
            if r.returncode != 0:
                raise AssertionError("import into express failed: %s" % r.stderr)
            cls.express.start()
            dump = os.path.join(cls.express.dir, "export.jsonl")
            r = cls.express.cli("export", "--output", dump)
            if r.returncode != 0:
                raise AssertionError("export failed: %s" % r.stderr)
            r = full_cli(cls.normal, "import", dump)
            if r.returncode != 0:
                raise AssertionError("import into normal failed: %s" % r.stderr)
            cls.normal.start()
        except BaseException:
            cls.express.cleanup()
            cls.normal.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            for s in (cls.express, cls.normal):
                status = s.stop()
                if status != 0:
                    raise AssertionError("exit %r: %s" % (status, s.stderr_text()))
        finally:
            cls.express.cleanup()
            cls.normal.cleanup()

    def both(self, path, params=None):
        e = self.express.api("GET", path, params)
        n = self.normal.api("GET", path, params)
        self.assertEqual(e.status, n.status, (path, params, e, n))
        self.assertIsNotNone(e.json, e)
        return e.json, n.json

    def test_export_of_the_copy_equals_the_original(self):
        e = self.express.cli("export")
        n = full_cli(self.normal, "export")
        self.assertEqual((e.returncode, n.returncode), (0, 0), e.stderr + n.stderr)
        self.assertEqual(sorted(e.stdout.splitlines()), sorted(n.stdout.splitlines()))
        self.assertGreater(len(e.stdout.splitlines()), 200)

    def test_every_list_page_and_detail_is_identical(self):
        for kind in LISTS:
            for params in ({"page_size": 7}, {"page_size": 500}):
                epage, npage = self.both(kind + "/", params)
                pages = 0
                while True:
                    self.assertEqual(same(epage), same(npage), (kind, params))
                    pages += 1
                    if epage["next"] is None:
                        break
                    nxt = Server.local(epage["next"])
                    epage, npage = self.both(nxt)
                self.assertGreaterEqual(pages, 1)
            _, results = self.express.walk(kind + "/", {"page_size": 500})
            self.assertTrue(results, kind)
            for item in results:
                # Programs and pathways are addressed by uuid.
                key = item.get("key") or item["uuid"]
                e, n = self.both("%s/%s/" % (kind, key))
                self.assertEqual(same(e), same(n), (kind, key))

    def test_pathway_ids_are_only_renumbered(self):
        e, n = self.both("pathways/", {"page_size": 500})
        self.assertEqual(sorted(p["id"] for p in e["results"]),
                         sorted(p["id"] for p in n["results"]))
        self.assertEqual(same(e), same(n))

    def test_filtered_lists_are_identical(self):
        for params in ({"org": "AldenX"}, {"subject": "computer-science"},
                       {"availability": "current"}, {"ordering": "-modified"}):
            for kind in ("courses", "course_runs", "programs"):
                e, n = self.both(kind + "/", params)
                self.assertEqual(same(e), same(n), (kind, params))

    def test_search_hits_and_facet_counts_agree(self):
        for endpoint in SEARCH_ENDPOINTS:
            for q in SEARCH_QUERIES:
                params = {"page_size": 500}
                if q is not None:
                    params["q"] = q
                e, n = self.both("search/%s/" % endpoint, params)
                self.assertEqual(e["count"], n["count"], (endpoint, q))
                # Order may differ where the engines' scores do: compare sets.
                key = lambda h: sorted_json(h.get("key")) + h.get("content_type", "")
                self.assertEqual(sorted(map(key, e["results"])), sorted(map(key, n["results"])),
                                 (endpoint, q))
                e, n = self.both("search/%s/facets/" % endpoint, params)
                self.assertEqual(sorted_json(e["fields"]), sorted_json(n["fields"]), (endpoint, q))
                self.assertEqual(sorted_json(e["queries"]), sorted_json(n["queries"]),
                                 (endpoint, q))
        # Some query found something, or the comparison proves little.
        e, _ = self.both("search/all/", {"q": "data"})
        self.assertGreater(e["count"], 0)


def write_conf(path, settings):
    """An INI file with settings ({"section.key": value}; "mode" at the top)."""
    sections = {}
    for k, v in settings.items():
        section, _, key = k.rpartition(".")
        sections.setdefault(section, []).append("%s = %s" % (key, v))
    with open(path, "w", encoding="utf-8") as f:
        for line in sections.pop("", []):
            f.write(line + "\n")
        for section, lines in sections.items():
            f.write("[%s]\n%s\n" % (section, "\n".join(lines)))
    return path


class Copy(unittest.TestCase):
    """catalogd copy --from express.conf --to normal.conf."""

    def test_copy_express_to_normal_gives_the_same_export(self):
        express = Server(settings={"mode": "express"})
        normal = Server(catalog=None, settings=normal_settings())
        self.addCleanup(express.cleanup)
        self.addCleanup(normal.cleanup)
        express.import_file(SAMPLE_CATALOG)
        a = write_conf(os.path.join(express.dir, "a.conf"),
                       {k: v for k, v in express.sets.items() if k.startswith("store.") or
                        k == "mode"})
        b = write_conf(os.path.join(normal.dir, "b.conf"), normal.sets)
        r = run_cli(["copy", "--from", a, "--to", b])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("233 records written", r.stderr)
        e = run_cli(["export", "--config", a])
        n = run_cli(["export", "--config", b])
        self.assertEqual((e.returncode, n.returncode), (0, 0), e.stderr + n.stderr)
        self.assertEqual(sorted(e.stdout.splitlines()), sorted(n.stdout.splitlines()))
        # The index was filled too: search answers in normal mode.
        normal.start()
        self.assertGreater(normal.get_json("search/all/", {"q": "data"})["count"], 0)
        # Again: nothing changes.
        r = run_cli(["copy", "--from", a, "--to", b])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 records written, 233 unchanged", r.stderr)
        self.assertEqual(normal.stop(), 0)

    def test_usage_errors(self):
        for args in (["copy"], ["copy", "--from", "a.conf"], ["copy", "--to", "b.conf"],
                     ["copy", "--from", "a.conf", "--to", "b.conf", "--config", "c.conf"],
                     ["copy", "--from", "a.conf", "--to", "b.conf", "extra"]):
            r = run_cli(args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn("catalogd copy: ", r.stderr)

    def test_unreadable_source_fails_and_writes_nothing(self):
        normal = Server(catalog=None, settings=normal_settings())
        self.addCleanup(normal.cleanup)
        b = write_conf(os.path.join(normal.dir, "b.conf"), normal.sets)
        r = run_cli(["copy", "--from", os.path.join(normal.dir, "missing.conf"), "--to", b])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing.conf", r.stderr)
        n = run_cli(["export", "--config", b])
        self.assertEqual((n.returncode, n.stdout), (0, ""), n.stderr)


class NoFixtureFails(unittest.TestCase):
    """Normal mode against nothing: start-up fails clearly (exit != 0),
    it does not hang or serve."""

    def test_unreachable_database_fails_clearly(self):
        r = run_cli(["import", SAMPLE_CATALOG, "--set", "mode=normal", "--set",
                     "store.url=postgresql://nobody@127.0.0.1:1/none", "--set",
                     "store.connect_timeout=2s"], timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("127.0.0.1", r.stderr)


if __name__ == "__main__":
    unittest.main()
