"""Express and normal mode answer searches alike on a generated catalog.

The same catalog (tests/gen_catalog.py 2000 7) is imported into an express
store (SQLite + fts5) and a normal one (PostgreSQL + pgfts, Redis cache);
both are served with the same clock, and about 25 queries drawn from the
catalog's own vocabulary are compared: search/all/ totals, the facet counts
of search/all/facets/, and typeahead.  Differences the drivers are allowed
to have are listed in docs/search.md (pgfts, "Parity with fts5").

Runs under tests/pg_fixture.sh and tests/redis_fixture.sh (see
tests/CMakeLists.txt); without them every test fails.
"""

import collections
import os
import random
import re
import sys
import unittest

from harness import Server, full_cli, generate_catalog, normal_settings, sorted_json

CLOCK = "2026-03-01T00:00:00Z"
PUBLIC_URL = "http://catalog.test"
N_COURSES, SEED = 2000, 7
# docs/search.md, "Parity with fts5": totals may differ by at most this much.
TOLERANCE = 0.02


def words(text):
    """text folded as both drivers fold it (ASCII here: lower case, split
    on anything that is not a letter or digit)."""
    return re.findall(r"[a-z0-9]+", text.lower())


def draw_queries(records):
    """About 25 queries from the catalog's own words, the same every run
    (random.Random(SEED) over sorted vocabularies)."""
    rng = random.Random(SEED)
    courses = [r for r in records if r["kind"] == "course"]
    orgs = sorted({r["key"] for r in records if r["kind"] == "organization"})
    subjects = sorted({r["name"] for r in records if r["kind"] == "subject"})
    freq = collections.Counter()
    for c in courses:
        freq.update(set(words(c["title"])))
    # Words of titles that are not course numbers, most common first (ties
    # by the word, so the order does not depend on hashing).
    vocab = sorted((w for w in freq if not w.isdigit()), key=lambda w: (-freq[w], w))
    common, rare = vocab[:4], vocab[-4:]
    titles = sorted(c["title"] for c in courses)
    two = [" ".join(words(t)[-3:-1]) for t in rng.sample(titles, 3)]
    number = words(rng.choice(titles))[-1]
    key = rng.choice(sorted(c["key"] for c in courses))
    queries = common[:3] + rare[:3] + two + [
        number,
        '"%s"' % " ".join(words(rng.choice(titles))[:2]),
        '"%s"' % " ".join(words(rng.choice(titles))[-3:-1]),
        common[0][:4] + "*",
        rare[0][:3] + "*",
        "%s -%s" % (common[0], common[1]),
        "-%s" % rare[0],
        "title:%s" % rare[1],
        "org:%s" % rng.choice(orgs),
        'org:"generated university %d"' % rng.randrange(len(orgs)),
        'subject:"%s"' % rng.choice(subjects).lower(),
        "key:%s" % key,
        "%s OR %s" % (rare[0], rare[2]),
        "%s OR %s %s" % (common[1], rare[1], common[2]),
        "generated program",
        "run " + common[3],
    ]
    return queries


def typeahead_queries(records):
    """(prefix, narrow): narrow when at most 3 documents of each content
    type (published or not) match, so the answer is the whole match set;
    wide ones are the top 3 of a ranking (docs/search.md, "Parity with
    fts5")."""
    rng = random.Random(SEED + 1)
    names = {r["key"]: r["name"] for r in records if r["kind"] == "organization"}
    courses = sorted((r for r in records if r["kind"] == "course"), key=lambda c: c["key"])
    texts = {"course_runs": [], "programs": []}
    for c in courses:
        orgs = [o + " " + names[o] for o in c["owners"]]
        texts["course_runs"] += [set(words(" ".join([r["title"], r["key"]] + orgs)))
                                 for r in c["course_runs"]]
    for p in (r for r in records if r["kind"] == "program"):
        orgs = [o + " " + names[o] for o in p["authoring_organizations"]]
        texts["programs"].append(set(words(" ".join([p["title"], p["uuid"]] + orgs))))

    def narrow(prefix):
        return all(sum(1 for t in ts if all(any(w.startswith(x) for w in t)
                                            for x in words(prefix))) <= 3
                   for ts in texts.values())

    picks = rng.sample(courses, 4)
    out = ["%s %s" % (words(c["title"])[-2][:5], words(c["title"])[-1]) for c in picks]
    out.append(words(picks[1]["key"])[1])  # c01234: one course's runs
    out.append(words(picks[0]["key"])[1][:5])  # c0123: ten courses' runs
    out.append(words(picks[2]["title"])[-2][:4])
    out += ["generated program %d" % rng.randrange(100) for _ in range(3)]
    program = rng.choice(sorted(r["uuid"] for r in records if r["kind"] == "program"))
    out.append(words(program)[0])  # one program by the start of its uuid
    return [(q, narrow(q)) for q in out]


def starts_every_word(hit, prefix, names):
    """Each word of prefix begins a word of the hit's title, key or
    organizations (keys and names): the typeahead contract."""
    orgs = [o + " " + names.get(o, "") for o in hit["orgs"]]
    text = set(words(" ".join([hit["title"], hit.get("key") or hit.get("uuid")] + orgs)))
    return all(any(w.startswith(p) for w in text) for p in words(prefix))


def within(a, b):
    return abs(a - b) <= TOLERANCE * max(a, b)


class GeneratedCatalogParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        common = {"server.public_url": PUBLIC_URL}
        cls.express = Server(catalog=None, clock_now=CLOCK,
                             settings=dict(common, **{"mode": "express"}))
        cls.normal = Server(catalog=None, clock_now=CLOCK,
                            settings=dict(common, **normal_settings()))
        try:
            path = os.path.join(cls.express.dir, "generated.jsonl")
            cls.records = generate_catalog(path, N_COURSES, SEED)
            for s in (cls.express, cls.normal):
                r = full_cli(s, "import", path)
                if r.returncode != 0:
                    raise AssertionError("import into %s failed: %s" % (s.sets.get("mode"),
                                                                        r.stderr))
                s.start(timeout=60)
        except BaseException:
            cls.express.cleanup()
            cls.normal.cleanup()
            raise
        cls.queries = draw_queries(cls.records)

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

    def both(self, path, params):
        e = self.express.api("GET", path, params)
        n = self.normal.api("GET", path, params)
        self.assertEqual((e.status, n.status), (200, 200), (path, params, e, n))
        return e.json, n.json

    def test_the_queries_are_varied(self):
        # The comparison proves little if every query found nothing or all.
        counts = [self.both("search/all/", {"q": q, "page_size": 1})[0]["count"]
                  for q in self.queries]
        everything = self.both("search/all/", {"page_size": 1})[0]["count"]
        self.assertGreaterEqual(len(self.queries), 25)
        self.assertGreater(everything, 2000)
        self.assertGreaterEqual(sum(1 for c in counts if 0 < c < everything), 20,
                                list(zip(self.queries, counts)))
        self.assertTrue(any(0 < c < 10 for c in counts), list(zip(self.queries, counts)))

    def test_totals_agree(self):
        report = []
        for q in self.queries:
            e, n = self.both("search/all/", {"q": q, "page_size": 1})
            report.append("%r: express %d, normal %d" % (q, e["count"], n["count"]))
            self.assertTrue(within(e["count"], n["count"]), report[-1])
        # Every total, into the ctest log.
        sys.stderr.write("\n" + "\n".join(report) + "\n")

    def test_facet_counts_agree(self):
        for q in self.queries:
            e, n = self.both("search/all/facets/", {"q": q})
            self.assertEqual(set(e["fields"]), set(n["fields"]), q)
            exact = e["objects"]["count"] == n["objects"]["count"]
            for field in e["fields"]:
                ec = {i["text"]: i["count"] for i in e["fields"][field]}
                nc = {i["text"]: i["count"] for i in n["fields"][field]}
                if exact:
                    self.assertEqual(ec, nc, (q, field))
                    continue
                for text in set(ec) | set(nc):
                    a, b = ec.get(text, 0), nc.get(text, 0)
                    self.assertTrue(within(a, b), (q, field, text, a, b))
            eq = {k: v["count"] for k, v in e["queries"].items()}
            nq = {k: v["count"] for k, v in n["queries"].items()}
            if exact:
                self.assertEqual(eq, nq, q)
            else:
                for name in set(eq) | set(nq):
                    self.assertTrue(within(eq.get(name, 0), nq.get(name, 0)), (q, name, eq, nq))

    def test_typeahead_gives_the_same_sets(self):
        names = {r["key"]: r["name"] for r in self.records if r["kind"] == "organization"}
        found, narrows = 0, set()
        for q, narrow in typeahead_queries(self.records):
            e, n = self.both("search/typeahead/", {"q": q})
            for kind in ("course_runs", "programs"):
                ident = "key" if kind == "course_runs" else "uuid"
                es = sorted(sorted_json(h) for h in e[kind])
                ns = sorted(sorted_json(h) for h in n[kind])
                ids = (q, kind, [h[ident] for h in e[kind]], [h[ident] for h in n[kind]])
                if narrow:
                    self.assertEqual(es, ns, ids)
                    if es:
                        narrows.add(kind)
                    found += len(es)
                    continue
                # Ties in the contract (every hit matches only in its key,
                # say) are broken by each engine's score: the same number of
                # hits, each a true match.
                self.assertEqual(len(es), len(ns), ids)
                for h in e[kind] + n[kind]:
                    self.assertTrue(starts_every_word(h, q, names), (q, h))
        self.assertGreater(found, 6)
        self.assertEqual(narrows, {"course_runs", "programs"})
        self.assertIn(False, [narrow for _, narrow in typeahead_queries(self.records)])

if __name__ == "__main__":
    unittest.main()
