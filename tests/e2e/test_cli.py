"""The command line: import/export, config show/check, backends, migrate,
--help and --version, run as a user would run them."""

import json
import os
import re
import tempfile
import unittest

from harness import SAMPLE_CATALOG, by_kind, read_jsonl, run_cli

COMMANDS = ["serve", "import", "export", "migrate", "config show", "config check",
            "config reference", "backends"]


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="catalogd-e2e-cli-")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def store(self, name="a.db"):
        return ["--set", "store.path=" + self.path(name)]

    def cli(self, *args, **kw):
        return run_cli(list(args), cwd=self.tmp.name, **kw)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, "exit %d\nstdout: %s\nstderr: %s" %
                         (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
        return r

    def write(self, name, lines):
        with open(self.path(name), "w", encoding="utf-8") as f:
            for line in lines:
                f.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
        return self.path(name)

    def export(self, store="a.db"):
        return self.ok(self.cli("export", *self.store(store))).stdout


class ImportExport(CliTestCase):
    def test_round_trip(self):
        self.ok(self.cli("import", SAMPLE_CATALOG, *self.store("a.db")))
        first = self.export("a.db")
        exported = self.write("first.jsonl", first.splitlines())
        self.ok(self.cli("import", exported, *self.store("b.db")))
        second = self.export("b.db")
        self.assertEqual(first, second, "export -> import -> export is not identical")
        # And it is the sample's content: the same records of each kind.
        got = by_kind(read_jsonl(exported))
        want = by_kind(read_jsonl(SAMPLE_CATALOG))
        self.assertEqual(sorted(got), sorted(want))
        for kind in want:
            self.assertEqual(sorted(r["uuid"] for r in got[kind]),
                             sorted(r["uuid"] for r in want[kind]), kind)
        for line in first.splitlines():
            self.assertIn("kind", json.loads(line))

    def test_import_from_stdin(self):
        with open(SAMPLE_CATALOG, encoding="utf-8") as f:
            self.ok(self.cli("import", "-", *self.store(), stdin=f.read()))
        self.assertEqual(len(self.export().splitlines()), len(read_jsonl(SAMPLE_CATALOG)))

    def test_import_twice_changes_nothing(self):
        self.ok(self.cli("import", SAMPLE_CATALOG, *self.store()))
        before = self.export()
        r = self.ok(self.cli("import", SAMPLE_CATALOG, *self.store()))
        self.assertRegex(r.stderr, r"\b0 records written")
        self.assertEqual(self.export(), before)

    def test_nested_runs_import(self):
        path = self.write("nested.jsonl", [
            {"kind": "organization", "key": "NestX", "name": "Nest"},
            {"kind": "course", "key": "NestX+N1", "title": "Nested", "owners": ["NestX"],
             "course_runs": [{"key": "course-v1:NestX+N1+1T2026", "title": "Nested",
                              "start": "2026-01-01T00:00:00Z", "status": "published",
                              "seats": [{"type": "audit", "price": "0", "currency": "USD"}]}]}])
        self.ok(self.cli("import", path, *self.store()))
        runs = [r for r in read_jsonl(self.write("out.jsonl", self.export().splitlines()))
                if r["kind"] == "course_run"]
        self.assertEqual([(r["key"], r["course"]) for r in runs],
                         [("course-v1:NestX+N1+1T2026", "NestX+N1")])
        self.assertEqual(runs[0]["seats"][0]["price"], "0.00")

    def check_bad_file(self, lines, line_no, field):
        self.ok(self.cli("import", SAMPLE_CATALOG, *self.store()))
        before = self.export()
        path = self.write("bad.jsonl", lines)
        r = self.cli("import", path, *self.store())
        self.assertNotEqual(r.returncode, 0, r.stderr)
        pattern = re.escape("%s:%d: " % (path, line_no))
        if field:
            pattern += re.escape(field) + ": "
        self.assertRegex(r.stderr, pattern + r"\S", "stderr: %s" % r.stderr)
        self.assertEqual(self.export(), before, "a failed import changed the store")
        return r

    def good_lines(self):
        return [{"kind": "organization", "key": "GoodX", "name": "Good"},
                {"kind": "course", "key": "GoodX+G1", "title": "Good", "owners": ["GoodX"]}]

    def test_bad_field_aborts(self):
        self.check_bad_file(self.good_lines() + [
            {"kind": "course", "key": "GoodX+G2", "title": 5, "owners": ["GoodX"]}], 3, "title")

    def test_unknown_reference_aborts(self):
        r = self.check_bad_file(self.good_lines() + [
            {"kind": "course", "key": "GoodX+G3", "title": "x", "owners": ["GhostX"]}], 3,
            "owners")
        self.assertIn("GhostX", r.stderr)

    def test_bad_json_aborts(self):
        self.check_bad_file(self.good_lines()[:1] + ['{"kind": "subject", "slug": '], 2, None)

    def test_unknown_kind_aborts(self):
        self.check_bad_file(self.good_lines() + [{"kind": "spaceship", "key": "x"}], 3, "kind")

    def test_bad_nested_seat_names_the_path(self):
        self.check_bad_file(self.good_lines() + [
            {"kind": "course", "key": "GoodX+G4", "title": "x", "owners": ["GoodX"],
             "course_runs": [{"key": "course-v1:GoodX+G4+1T2026", "title": "x",
                              "start": "2026-01-01T00:00:00Z",
                              "seats": [{"type": "verified", "price": "lots",
                                         "currency": "USD"}]}]}], 3,
            "course_runs[0].seats[0].price")

    def test_skip_invalid(self):
        path = self.write("mixed.jsonl", self.good_lines() + [
            {"kind": "course", "key": "GoodX+BAD", "title": 5, "owners": ["GoodX"]},
            {"kind": "subject", "slug": "kept-subject", "name": "Kept"}])
        r = self.cli("import", path, "--skip-invalid", *self.store())
        self.assertIn("%s:3: title: " % path, r.stderr)
        keys = {(rec["kind"], rec.get("key") or rec.get("slug"))
                for rec in map(json.loads, self.export().splitlines())}
        self.assertEqual(keys, {("organization", "GoodX"), ("course", "GoodX+G1"),
                                ("subject", "kept-subject")})

    def test_missing_file(self):
        r = self.cli("import", self.path("does-not-exist.jsonl"), *self.store())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("does-not-exist.jsonl", r.stderr)

    def test_migrate(self):
        r = self.ok(self.cli("migrate", *self.store()))
        self.assertRegex(r.stdout, r"schema version \d+")
        again = self.ok(self.cli("migrate", *self.store()))
        self.assertIn("up to date", again.stdout)
        self.assertEqual(re.findall(r"\d+", r.stdout)[0], re.findall(r"\d+", again.stdout)[0])
        # A migrated store imports and exports.
        self.ok(self.cli("import", SAMPLE_CATALOG, *self.store()))
        self.ok(self.cli("migrate", *self.store()))
        self.assertEqual(len(self.export().splitlines()), len(read_jsonl(SAMPLE_CATALOG)))


class Config(CliTestCase):
    def show(self, *args, env=None):
        r = self.ok(self.cli("config", "show", *args, env=env))
        out = {}
        for line in r.stdout.splitlines():
            m = re.match(r"^(\S+)\s*=\s*(.*?)\s*#\s*(.+?)\s*$", line)
            if m:
                out[m.group(1)] = (m.group(2), m.group(3))
        self.assertIn("server.listen", out, r.stdout)
        return out

    def test_unknown_key(self):
        conf = self.write("x.conf", ["[server]", "listen = 127.0.0.1:9000", "threds = 4"])
        r = self.cli("config", "check", "--config", conf)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("x.conf:3", r.stderr)
        self.assertIn("threds", r.stderr)
        self.assertIn("did you mean", r.stderr)
        self.assertIn("server.threads", r.stderr)

    def test_bad_value(self):
        conf = self.write("v.conf", ["[server]", "threads = many"])
        r = self.cli("config", "check", "--config", conf)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("v.conf:2", r.stderr)
        self.assertIn("server.threads", r.stderr)
        r = self.cli("config", "check", "--set", "cache.driver=memcached")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cache.driver", r.stderr)
        self.assertIn("memcached", r.stderr)

    def test_check_reads_auth_keys(self):
        # A key file or secret serve could not use fails the check, and the
        # message never shows the secret itself.
        missing = self.path("missing.pem")
        r = self.cli("config", "check", "--set", "auth.issuer=https://lms.example.test",
                     "--set", "auth.public_key_file=" + missing)
        self.assertEqual(r.returncode, 2)
        self.assertIn(missing, r.stderr)
        r = self.cli("config", "check", "--set", "auth.issuer=https://lms.example.test",
                     "--set", "auth.hs256_secret=tooshort42")
        self.assertEqual(r.returncode, 2)
        self.assertIn("shorter than 16 bytes", r.stderr)
        self.assertNotIn("tooshort42", r.stderr + r.stdout)

    def test_check_ok(self):
        conf = self.write("ok.conf", ["[server]", "threads = 2"])
        r = self.ok(self.cli("config", "check", "--config", conf))
        self.assertIn("OK", r.stdout)

    def test_show_origins(self):
        conf = self.write("x.conf", ["# comment", "[cache]", "ttl = 30", "", "[server]",
                                     "threads = 5", "max_connections = 10"])
        out = self.show("--config", conf, "--set", "server.max_connections=20",
                        env={"CATALOGD__SERVER__THREADS": "7"})
        self.assertEqual(out["api.page_size_max"], ("500", "default"))
        self.assertEqual(out["store.driver"], ("sqlite", "profile express"))
        self.assertEqual(out["cache.ttl"][0], "30")
        self.assertRegex(out["cache.ttl"][1], r"^file (.*/)?x\.conf:3$")
        self.assertEqual(out["server.threads"], ("7", "env"))
        self.assertEqual(out["server.max_connections"], ("20", "flag"))

    def test_env_precedence(self):
        conf = self.write("p.conf", ["[log]", "level = warn"])
        self.assertEqual(self.show("--config", conf)["log.level"][0], "warn")
        env = {"CATALOGD__LOG__LEVEL": "error"}
        self.assertEqual(self.show("--config", conf, env=env)["log.level"], ("error", "env"))
        self.assertEqual(self.show("--config", conf, "--set", "log.level=debug",
                                   env=env)["log.level"], ("debug", "flag"))
        r = self.cli("config", "show", env={"CATALOGD__LOG__LEVL": "warn"})
        self.assertNotEqual(r.returncode, 0, "an unknown environment key is an error")
        self.assertIn("CATALOGD__LOG__LEVL", r.stderr)

    def test_relative_store_path_resolves_against_the_file(self):
        conf = self.write("sub.conf", ["[store]", "path = data/cat.db"])
        out = self.show("--config", conf)
        self.assertEqual(out["store.path"][0], os.path.join(self.tmp.name, "data", "cat.db"))


class Misc(CliTestCase):
    def test_version(self):
        for args in (["--version"], ["serve", "--version"]):
            r = self.ok(self.cli(*args))
            self.assertRegex(r.stdout.strip(), r"^catalogd \d+\.\d+\.\d+")

    def test_help(self):
        r = self.ok(self.cli("--help"))
        for name in COMMANDS:
            self.assertIn(name, r.stdout)
        for name in COMMANDS:
            r = self.ok(self.cli(*name.split(), "--help"))
            self.assertTrue(r.stdout.startswith("usage: catalogd " + name), r.stdout)
            self.assertIn("--set", r.stdout)
        self.assertIn("--skip-invalid", self.ok(self.cli("import", "--help")).stdout)

    def test_usage_errors(self):
        for args in ([], ["frobnicate"], ["config", "frob"], ["export", "--bogus"],
                     ["import"], ["export", "extra-arg"], ["serve", "--set"]):
            r = self.cli(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertTrue(r.stderr.strip(), args)

    def test_backends(self):
        r = self.ok(self.cli("backends"))
        self.assertRegex(r.stdout, r"(?m)^store\s+sqlite\s+yes\b")
        self.assertRegex(r.stdout, r"(?m)^cache\s+memory\s+yes\b")

    def test_config_reference(self):
        r = self.ok(self.cli("config", "reference"))
        for key in ("server.listen", "store.path", "cache.ttl", "clock.now"):
            self.assertIn(key, r.stdout)
        with open(os.path.join(os.environ.get("CATALOGD_SOURCE_DIR", "."), "docs",
                               "configuration.md"), encoding="utf-8") as f:
            self.assertEqual(r.stdout, f.read(), "docs/configuration.md is not current")


if __name__ == "__main__":
    unittest.main()
