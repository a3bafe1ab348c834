#!/usr/bin/env python3
"""Generates a large synthetic catalog in the import format (JSON Lines).

    python3 tests/gen_catalog.py N SEED > catalog.jsonl

N courses spread over 50 organizations and 30 subjects, each course with 1
to 3 runs (nested under "course_runs", each with seats), N/20 programs over
3 program types, and a few pathways.  The same N and SEED give the same
bytes: randomness comes from random.Random(SEED) and uuids are uuid5 of
the natural key, so tests can regenerate the file and know every record.

Dates are fixed (2024-2028), not relative to today: tests pin "now" with
--set clock.now.  About one run in ten is unpublished and one in twenty
hidden, so visibility rules have something to hide.

Importable: generate(n, seed) returns the records as dicts.
"""

import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone

NS = uuid.UUID("0b5e9a8c-7f3d-4c1e-8a26-5d4f3e2c1b0a")
N_ORGS = 50
N_SUBJECTS = 30
PROGRAM_TYPES = [("micromasters", "MicroMasters", ["verified"], True),
                 ("professional-certificate", "Professional Certificate", ["professional"], False),
                 ("xseries", "XSeries", ["verified", "credit"], False)]
LEVELS = ["Introductory", "Intermediate", "Advanced"]
WORDS = ["Applied", "Modern", "Foundations of", "Advanced", "Practical", "Principles of",
         "Topics in", "Introduction to", "Computational", "Quantitative"]
TOPICS = ["Algebra", "Statistics", "Databases", "Networks", "Ecology", "Finance", "Optics",
          "Robotics", "Linguistics", "Genetics", "Cryptography", "Compilers", "Thermodynamics",
          "Macroeconomics", "Astronomy", "Ethics", "Climate", "Design", "Marketing", "History"]
BASE = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(parts)))


def iso(d):
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def org_key(i):
    return "Org%02dX" % i


def generate(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(N_ORGS):
        key = org_key(i)
        out.append({"kind": "organization", "key": key, "uuid": uid("org", key),
                    "name": "Generated University %d" % i,
                    "description": "Organization %d of the generated catalog." % i,
                    "homepage_url": "https://org%d.example.edu/" % i,
                    "logo_image_url": None, "certificate_logo_image_url": None,
                    "banner_image_url": None, "tags": [],
                    "marketing_url": "https://catalog.example.org/school/org%d" % i,
                    "slug": key.lower()})
    subjects = ["subject-%02d" % i for i in range(N_SUBJECTS)]
    for i, slug in enumerate(subjects):
        out.append({"kind": "subject", "slug": slug, "uuid": uid("subject", slug),
                    "name": "Subject %d" % i, "subtitle": None,
                    "description": "Generated subject %d." % i})
    for slug, name, seat_types, coaching in PROGRAM_TYPES:
        out.append({"kind": "program_type", "slug": slug, "uuid": uid("program_type", slug),
                    "name": name, "applicable_seat_types": seat_types,
                    "coaching_supported": coaching})
    course_keys = []
    for i in range(n):
        org = org_key(rng.randrange(N_ORGS))
        key = "%s+C%05d" % (org, i)
        course_keys.append(key)
        title = "%s %s %d" % (rng.choice(WORDS), rng.choice(TOPICS), i)
        runs = []
        for r in range(rng.randint(1, 3)):
            start = BASE + timedelta(days=rng.randrange(0, 4 * 365), hours=rng.randrange(24))
            end = start + timedelta(weeks=rng.randint(4, 16))
            run_key = "course-v1:%s+%dT%d" % (key, r + 1, start.year)
            verified = "%d.00" % rng.choice([49, 99, 149, 199])
            seats = [{"type": "audit", "price": "0.00", "currency": "USD"},
                     {"type": "verified", "price": verified, "currency": "USD",
                      "upgrade_deadline": iso(end - timedelta(days=10)),
                      "sku": "SKU-%05d-%d" % (i, r)}]
            if rng.random() < 0.1:
                seats.append({"type": "credit", "price": "300.00", "currency": "USD",
                              "credit_provider": org.lower(), "credit_hours": 3})
            runs.append({"key": run_key, "uuid": uid("course_run", run_key), "title": title,
                         "short_description": "Run %d of %s." % (r + 1, title),
                         "start": iso(start), "end": iso(end),
                         "enrollment_start": iso(start - timedelta(days=30)),
                         "enrollment_end": iso(end - timedelta(days=7)),
                         "pacing_type": rng.choice(["instructor_paced", "self_paced"]),
                         "status": "unpublished" if rng.random() < 0.1 else "published",
                         "hidden": rng.random() < 0.05,
                         "marketing_url": "https://catalog.example.org/course/c%05d-%d" % (i, r),
                         "seats": seats, "content_language": rng.choice(["en", "en", "fr", "de"]),
                         "transcript_languages": ["en"], "min_effort": 2, "max_effort": 6,
                         "weeks_to_complete": (end - start).days // 7,
                         "level_type": rng.choice(LEVELS)})
        out.append({"kind": "course", "key": key, "uuid": uid("course", key), "title": title,
                    "short_description": "About %s." % title,
                    "full_description": "A generated course about %s." % title,
                    "owners": [org],
                    "subjects": sorted(rng.sample(subjects, rng.randint(1, 3))),
                    "level_type": rng.choice(LEVELS),
                    "marketing_url": "https://catalog.example.org/course/c%05d" % i,
                    "course_runs": runs})
    program_uuids = []
    for p in range(max(1, n // 20)):
        ptype = PROGRAM_TYPES[p % len(PROGRAM_TYPES)][0]
        members = sorted(rng.sample(course_keys, min(len(course_keys), rng.randint(2, 5))))
        orgs = sorted({k.split("+")[0] for k in members})
        puuid = uid("program", str(p))
        program_uuids.append(puuid)
        out.append({"kind": "program", "uuid": puuid, "title": "Generated Program %d" % p,
                    "subtitle": None, "type": ptype,
                    "status": rng.choice(["active", "active", "active", "retired", "unpublished"]),
                    "marketing_slug": "generated-program-%d" % p,
                    "marketing_url": "https://catalog.example.org/program/%d" % p,
                    "hidden": False, "courses": members, "authoring_organizations": orgs})
    for w in range(min(5, len(program_uuids))):
        out.append({"kind": "pathway", "uuid": uid("pathway", str(w)),
                    "name": "Generated Pathway %d" % w, "org_name": "Generated University %d" % w,
                    "email": "pathway%d@example.edu" % w, "description": None,
                    "destination_url": "https://org%d.example.edu/pathway" % w,
                    "pathway_type": "credit", "status": "published",
                    "programs": [program_uuids[w]]})
    return out


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: gen_catalog.py N SEED > catalog.jsonl\n")
        return 2
    try:
        n, seed = int(argv[1]), int(argv[2])
    except ValueError:
        sys.stderr.write("gen_catalog.py: N and SEED must be integers\n")
        return 2
    if n < 1:
        sys.stderr.write("gen_catalog.py: N must be at least 1\n")
        return 2
    write = sys.stdout.write
    for record in generate(n, seed):
        write(json.dumps(record, separators=(",", ":")))
        write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
