#!/usr/bin/env python3
"""Deterministic benchmark corpus in catalogd's import format (JSON Lines).

    bench/gen_corpus.py --courses 10000 --seed 1 > corpus-10k.jsonl

Same seed and size give the same bytes.  Dates are relative to --now (a
fixed instant by default, so that "past/current/future" runs stay so when
catalogd runs with clock.now set to the same instant).
"""

import argparse
import datetime
import json
import random
import sys

from vocab import LANGUAGES, LEVELS, SUBJECTS, Vocabulary, slugify

DEFAULT_NOW = "2025-06-01T00:00:00Z"


def sentence(vocab, rng, n):
    words = vocab.sample(rng, n)
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def paragraph(vocab, rng, n_words):
    out = []
    while n_words > 0:
        n = min(n_words, rng.randint(6, 18))
        out.append(sentence(vocab, rng, n))
        n_words -= n
    return " ".join(out)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def organizations(vocab, rng, n_courses):
    n = max(50, min(500, n_courses // 200))
    orgs = []
    for i in range(n):
        name_words = vocab.sample(rng, rng.randint(1, 3), top=3000)
        key = "".join(w.capitalize() for w in name_words[:2])[:12] + "X%d" % i
        name = "University of " + " ".join(w.capitalize() for w in name_words)
        orgs.append({"kind": "organization", "key": key, "name": name,
                     "homepage_url": "https://%s.example.edu/" % key.lower(),
                     "description": paragraph(vocab, rng, rng.randint(20, 60))})
    return orgs


def runs_for(course_key, rng, now):
    runs = []
    n = rng.randint(1, 4)
    org, number = course_key.split("+", 1)
    for r in range(n):
        # Spread starts from two years back to one year ahead.
        start = now + datetime.timedelta(days=rng.randint(-730, 365))
        end = start + datetime.timedelta(weeks=rng.randint(4, 16))
        enr_start = start - datetime.timedelta(days=rng.randint(14, 90))
        self_paced = rng.random() < 0.3
        seats = [{"type": "audit"}]
        if rng.random() < 0.8:
            deadline = end - datetime.timedelta(days=7)
            seats.append({"type": "verified", "price": str(rng.choice([49, 99, 149, 199, 299])),
                          "currency": "USD", "upgrade_deadline": iso(deadline)})
        runs.append({
            "key": "course-v1:%s+%s+%dT%d" % (org, number, r + 1, start.year),
            "start": iso(start), "end": iso(end), "enrollment_start": iso(enr_start),
            "status": "published" if rng.random() < 0.95 else "unpublished",
            "pacing_type": "self_paced" if self_paced else "instructor_paced",
            "seats": seats,
            "content_language": rng.choice(LANGUAGES),
            "min_effort": rng.randint(1, 4), "max_effort": rng.randint(5, 10),
            "weeks_to_complete": rng.randint(4, 16),
            "marketing_url": "https://catalog.example.org/course/%s-%d" % (
                number.lower(), r + 1),
        })
    return runs


def generate(n_courses, seed, now_text, out):
    vocab = Vocabulary(seed)
    rng = random.Random(seed)
    now = datetime.datetime.strptime(now_text, "%Y-%m-%dT%H:%M:%SZ")
    write = out.write
    for s in SUBJECTS:
        write(json.dumps({"kind": "subject", "slug": slugify(s), "name": s}) + "\n")
    for slug, name in (("micromasters", "MicroMasters"),
                       ("professional-certificate", "Professional Certificate"),
                       ("xseries", "XSeries")):
        write(json.dumps({"kind": "program_type", "slug": slug, "name": name,
                          "applicable_seat_types": ["verified"]}) + "\n")
    orgs = organizations(vocab, rng, n_courses)
    for o in orgs:
        write(json.dumps(o) + "\n")
    course_keys = []
    for i in range(n_courses):
        # Zipf-ish: a few organizations own many courses.
        org = orgs[min(int(rng.paretovariate(1.2)) - 1, len(orgs) - 1)
                   if rng.random() < 0.5 else rng.randrange(len(orgs))]
        key = "%s+C%05d" % (org["key"], i)
        course_keys.append(key)
        title_words = vocab.sample(rng, rng.randint(3, 10), top=8000)
        course = {
            "kind": "course", "key": key,
            "title": " ".join(w.capitalize() for w in title_words),
            "short_description": sentence(vocab, rng, rng.randint(10, 25)),
            "full_description": paragraph(vocab, rng, rng.randint(50, 400)),
            "owners": [org["key"]],
            "subjects": [slugify(s) for s in rng.sample(SUBJECTS, rng.randint(1, 3))],
            "level_type": rng.choice(LEVELS),
            "image": {"src": "https://img.example.org/%s.jpg" % key.replace("+", "-"),
                      "height": 200, "width": 300},
            "marketing_url": "https://catalog.example.org/course/%s" % key.replace("+", "-"),
            "entitlements": [{"mode": "verified", "price": "99", "currency": "USD"}],
            "modified": iso(now - datetime.timedelta(days=rng.randint(0, 900))),
            "course_runs": runs_for(key, rng, now),
        }
        write(json.dumps(course, separators=(",", ":")) + "\n")
    types = ["micromasters", "professional-certificate", "xseries"]
    for p in range(max(1, n_courses // 50)):
        members = rng.sample(course_keys, min(len(course_keys), rng.randint(2, 6)))
        owner = members[0].split("+")[0]
        uuid = "%08x-0000-4000-8000-%012x" % (seed & 0xFFFFFFFF, p)
        write(json.dumps({
            "kind": "program", "uuid": uuid,
            "title": " ".join(w.capitalize() for w in vocab.sample(rng, rng.randint(2, 6),
                                                                  top=5000)),
            "type": rng.choice(types), "status": "active" if rng.random() < 0.9 else "retired",
            "courses": members, "authoring_organizations": [owner],
            "overview": paragraph(vocab, rng, rng.randint(30, 120)),
        }, separators=(",", ":")) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--courses", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--now", default=DEFAULT_NOW, help="instant the dates are relative to")
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()
    if args.courses < 1:
        ap.error("--courses must be at least 1")
    out = sys.stdout if args.output == "-" else open(args.output, "w")
    with out:
        generate(args.courses, args.seed, args.now, out)


if __name__ == "__main__":
    main()
