#!/usr/bin/env python3
"""Deterministic query mix for the search benchmarks, from the corpus vocabulary.

    bench/gen_queries.py --seed 1 --count 20000 --out-dir DIR

writes, in DIR:
  search.paths     unfaceted searches (1-3 words, phrases, prefixes) as URL
                   paths for wrk, all distinct, so a cache cannot hit;
  search.match     the same queries, line for line, as the FTS5 MATCH
                   expression backends/search/fts5.c builds, for raw_fts5;
  search.tsquery   the same queries, line for line, as the tsquery text
                   backends/search/pgfts.c builds (its $1), for raw_pgfts;
  facets.paths     searches with a facet selected, on the facets endpoint;
  typeahead.paths  typeahead prefixes of one or two words;
  queries.json     all of the above as lists, for other engines.
"""

import argparse
import json
import os
import random
import re
from urllib.parse import quote

from vocab import LEVELS, Vocabulary

SEARCH = "/api/v1/search/all/"
FACETS = "/api/v1/search/all/facets/"
TYPEAHEAD = "/api/v1/search/typeahead/"


def fts_string(text, prefix=False):
    return '"' + text.replace('"', '""') + '"' + ("*" if prefix else "")


def fold(text):
    """search_fold_words (src/search_query.c) for ASCII text: lower-cased
    runs of [a-z0-9]; every other ASCII character separates words.  The
    query mix is ASCII; anything else is refused rather than guessed."""
    if not text.isascii():
        raise ValueError("pg_tsquery folds ASCII only: %r" % text)
    return re.findall(r"[a-z0-9]+", text.lower())


def pg_tsquery(q):
    """The tsquery text backends/search/pgfts.c passes as $1 for q, for the
    shapes one_query makes (words, one "quoted phrase", a word*): the
    parser's tree (src/search_query.c: one node, or an AND of them) written
    by pgfts.c's tsq(): a term '(\'w\')', a phrase '(\'a\' <-> \'b\')',
    a prefix ':*' after the last word, an AND '(x & y)'."""
    nodes = []
    for m in re.finditer(r'"([^"]*)"(\*?)|(\S+)', q):
        text, prefix = (m.group(1), m.group(2)) if m.group(3) is None else (m.group(3), "")
        if m.group(3) is not None:
            if re.search(r'[()"]|^-|^(OR|AND|NOT)$|^(title|org|key|subject):', text, re.I):
                raise ValueError("pg_tsquery: unsupported syntax in %r" % q)
            prefix = "*" if text.endswith("*") else ""
            text = text.rstrip("*")
        words = fold(text)
        if words:
            nodes.append("(" + " <-> ".join("'%s'" % w for w in words)
                         + (":*" if prefix else "") + ")")
    if not nodes:
        raise ValueError("pg_tsquery: no words in %r" % q)
    return nodes[0] if len(nodes) == 1 else "(" + " & ".join(nodes) + ")"


# The corpus's most frequent words play the part of stop words ("the",
# "of"): in a Zipf text the top one is in almost every document, and
# people do not search for it.  Queries draw their words below this rank.
STOP_RANKS = 100


def one_query(vocab, rng):
    """(q text, MATCH expression): the shape fts5.c gives an AND of terms."""
    r = rng.random()
    if r < 0.6:
        words = vocab.sample(rng, rng.randint(1, 3), top=6000, skip=STOP_RANKS)
        return " ".join(words), "((" + " AND ".join(fts_string(w) for w in words) + "))"
    if r < 0.8:
        words = vocab.sample(rng, 2, top=600, skip=STOP_RANKS // 2)
        return '"%s"' % " ".join(words), "((" + fts_string(" ".join(words)) + "))"
    word = vocab.sample(rng, 1, top=8000, skip=STOP_RANKS * 5)[0]
    pre = word[:rng.randint(4, max(4, min(6, len(word))))]
    return pre + "*", "((" + fts_string(pre, True) + "))"


def generate(seed, count):
    vocab = Vocabulary(seed)
    rng = random.Random(seed * 31 + 7)
    seen = set()
    search, match = [], []
    tries = 0
    while len(search) < count and tries < count * 20:
        tries += 1
        q, m = one_query(vocab, rng)
        if q in seen:
            continue
        seen.add(q)
        search.append(q)
        match.append(m)
    facets = []
    for i, q in enumerate(search[: max(1, count // 4)]):
        pick = ("level_type_exact:" + rng.choice(LEVELS) if i % 2 == 0
                else "pacing_type_exact:" + rng.choice(["self_paced", "instructor_paced"]))
        facets.append((q, pick))
    typeahead = []
    tseen = set()
    while len(typeahead) < max(1, count // 4) and len(tseen) < count * 4:
        words = vocab.sample(rng, rng.randint(1, 2), top=8000, skip=STOP_RANKS)
        words[-1] = words[-1][:rng.randint(min(3, len(words[-1])), len(words[-1]))]
        t = " ".join(words)
        if t not in tseen:
            tseen.add(t)
            typeahead.append(t)
    return search, match, facets, typeahead


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()
    search, match, facets, typeahead = generate(args.seed, args.count)
    os.makedirs(args.out_dir, exist_ok=True)

    def write(name, lines):
        with open(os.path.join(args.out_dir, name), "w") as f:
            f.writelines(line + "\n" for line in lines)

    write("search.paths", ["%s?q=%s&page_size=20" % (SEARCH, quote(q)) for q in search])
    write("search.match", match)
    write("search.tsquery", [pg_tsquery(q) for q in search])
    write("facets.paths", ["%s?q=%s&selected_facets=%s&page_size=20" % (FACETS, quote(q), quote(p))
                           for q, p in facets])
    write("typeahead.paths", ["%s?q=%s" % (TYPEAHEAD, quote(t)) for t in typeahead])
    with open(os.path.join(args.out_dir, "queries.json"), "w") as f:
        json.dump({"search": search, "match": match,
                   "tsquery": [pg_tsquery(q) for q in search],
                   "facets": [{"q": q, "selected_facets": p} for q, p in facets],
                   "typeahead": typeahead}, f, indent=0)


if __name__ == "__main__":
    main()
