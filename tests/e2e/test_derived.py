"""Derived run values (availability, is_enrollable, is_marketable) and the
active/marketable filters, across their boundaries, with "now" pinned by
--set clock.now.  Values are computed at read time: the same store served
with another clock gives other answers."""

import json
import os
import tempfile
import unittest
from datetime import datetime, timedelta, timezone

from harness import Server, ServerTestCase

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
COURSE = "DerivX+D101"


def iso(d):
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def days(n):
    return iso(NOW + timedelta(days=n))


SEATS = [{"type": "audit", "price": "0.00", "currency": "USD"},
         {"type": "verified", "price": "50.00", "currency": "USD"}]

# name: (start, end, enrollment_start, enrollment_end, extra)
RUNS = {
    "soon59": (days(59), days(120), None, None, {}),
    "upcoming61": (days(61), days(120), None, None, {}),
    "archived": (days(-90), days(-1), None, None, {}),
    "current": (days(-10), days(30), None, None, {}),
    "starts_now": (iso(NOW), days(30), None, None, {}),
    "ends_now": (days(-30), iso(NOW), None, None, {}),
    "no_end": (days(-30), None, None, None, {}),
    "enroll_later": (days(10), days(60), days(1), days(20), {}),
    "enroll_closed": (days(-20), days(60), days(-40), days(-1), {}),
    "enroll_ends_now": (days(-20), days(60), days(-40), iso(NOW), {}),
    "enroll_starts_now": (days(5), days(60), iso(NOW), days(20), {}),
    "no_seats": (days(-10), days(30), None, None, {"seats": []}),
    "no_marketing": (days(-10), days(30), None, None, {"marketing_url": None}),
}


def run_key(name):
    return "course-v1:%s+%s" % (COURSE, name)


def catalog_lines():
    lines = [
        {"kind": "organization", "key": "DerivX", "name": "Derived Values University"},
        {"kind": "subject", "slug": "testing", "name": "Testing"},
        {"kind": "course", "key": COURSE, "title": "Dates and Boundaries", "owners": ["DerivX"],
         "subjects": ["testing"]},
    ]
    for name, (start, end, es, ee, extra) in RUNS.items():
        run = {"kind": "course_run", "key": run_key(name), "course": COURSE, "title": name,
               "start": start, "end": end, "enrollment_start": es, "enrollment_end": ee,
               "pacing_type": "instructor_paced", "status": "published", "hidden": False,
               "marketing_url": "https://catalog.example.org/course/%s" % name,
               "seats": SEATS}
        run.update(extra)
        lines.append(run)
    return lines


class Derived(ServerTestCase):
    @classmethod
    def make_server_options(cls):
        cls.data_dir = tempfile.TemporaryDirectory(prefix="catalogd-e2e-derived-")
        cls.catalog_path = os.path.join(cls.data_dir.name, "derived.jsonl")
        with open(cls.catalog_path, "w", encoding="utf-8") as f:
            for line in catalog_lines():
                f.write(json.dumps(line) + "\n")
        return {"catalog": cls.catalog_path, "clock_now": iso(NOW)}

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.data_dir.cleanup()

    def run_of(self, name, server=None):
        return (server or self.server).get_json("course_runs/%s/" % run_key(name))

    def assertAvailability(self, name, want):
        self.assertEqual(self.run_of(name)["availability"], want, name)

    def test_starting_soon_vs_upcoming(self):
        self.assertAvailability("soon59", "Starting Soon")
        self.assertAvailability("upcoming61", "Upcoming")

    def test_archived_when_ended_yesterday(self):
        self.assertAvailability("archived", "Archived")

    def test_current(self):
        self.assertAvailability("current", "Current")
        self.assertAvailability("starts_now", "Current")  # start <= now
        self.assertAvailability("ends_now", "Current")  # end < now is false at end == now
        self.assertAvailability("no_end", "Current")

    def test_is_enrollable(self):
        want = {"current": True, "no_end": True, "enroll_later": False, "enroll_closed": False,
                "enroll_ends_now": True, "enroll_starts_now": True}
        for name, enrollable in want.items():
            self.assertIs(self.run_of(name)["is_enrollable"], enrollable, name)

    def test_is_marketable(self):
        self.assertIs(self.run_of("current")["is_marketable"], True)
        self.assertIs(self.run_of("no_seats")["is_marketable"], False)
        self.assertIs(self.run_of("no_marketing")["is_marketable"], False)

    def listed(self, params):
        _, results = self.server.walk("course_runs/", dict(params, page_size=100))
        return {r["key"] for r in results}

    def test_active_filter(self):
        # end null or after now, enrollment_end null or after now - strictly.
        want = {run_key(n) for n in ("soon59", "upcoming61", "current", "starts_now", "no_end",
                                     "enroll_later", "enroll_starts_now", "no_seats",
                                     "no_marketing")}
        self.assertEqual(self.listed({"active": 1}), want)
        self.assertEqual(self.listed({"active": 0}), {run_key(n) for n in RUNS})
        self.assertEqual(self.listed({}), {run_key(n) for n in RUNS})

    def test_marketable_filter(self):
        got = self.listed({"marketable": 1})
        self.assertIn(run_key("current"), got)
        self.assertNotIn(run_key("no_seats"), got)
        self.assertNotIn(run_key("no_marketing"), got)

    def test_course_lists_every_public_run(self):
        course = self.get_json("courses/%s/" % COURSE)
        self.assertEqual({r["key"] for r in course["course_runs"]}, {run_key(n) for n in RUNS})

    def test_list_and_detail_agree(self):
        listed = {r["key"]: r for r in self.server.walk("course_runs/", {"page_size": 100})[1]}
        for name in ("soon59", "archived", "enroll_later"):
            detail = self.run_of(name)
            for f in ("availability", "is_enrollable", "is_marketable"):
                self.assertEqual(listed[run_key(name)][f], detail[f], (name, f))

    def test_values_follow_the_clock_not_the_store(self):
        # The same store served with now + 62 days: soon59 has started, upcoming61
        # too, current has ended.
        later = Server(catalog=None, clock_now=iso(NOW + timedelta(days=62)))
        try:
            later.store_path = self.server.store_path
            later.sets["store.path"] = self.server.store_path
            later.start()
            self.assertEqual(self.run_of("soon59", later)["availability"], "Current")
            self.assertEqual(self.run_of("upcoming61", later)["availability"], "Current")
            self.assertEqual(self.run_of("current", later)["availability"], "Archived")
            self.assertIs(self.run_of("enroll_later", later)["is_enrollable"], False)
            self.assertEqual(later.stop(), 0)
        finally:
            later.cleanup()
        # And the first server still answers with its own clock.
        self.assertAvailability("soon59", "Starting Soon")


if __name__ == "__main__":
    unittest.main()
