"""`catalogd import` of a first catalog builds its search index while it
writes the store (docs/import-format.md, "Indexing"), says so, and leaves
an index that verify finds equal to the store; a second import into the
same store is indexed after its commit, as before.  Both files are in WAL
mode again after a first import, which writes them through a rollback
journal (docs/store.md, docs/search.md)."""

import os
import tempfile
import unittest

from harness import generate_catalog, run_cli

FAST = "index (built during the import)"


class FirstImportIndex(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="catalogd-e2e-import-index-")
        self.addCleanup(self.tmp.cleanup)
        self.settings = ["--set", "store.path=" + os.path.join(self.tmp.name, "c.db"),
                         "--set", "search.driver=fts5",
                         "--set", "clock.now=2025-06-01T00:00:00Z"]

    def cli(self, *args):
        r = run_cli(list(args) + self.settings, cwd=self.tmp.name)
        self.assertEqual(r.returncode, 0, "exit %d\nstderr: %s" % (r.returncode, r.stderr[-2000:]))
        return r

    def journal_modes(self):
        """The journal mode each file's header records: 2 WAL, 1 rollback."""
        modes = []
        for name in ("c.db", "c.db-search"):
            with open(os.path.join(self.tmp.name, name), "rb") as f:
                modes.append(f.read(20)[18])
        return modes

    def test_first_import_indexed_while_written_then_second_after(self):
        catalog = os.path.join(self.tmp.name, "catalog.jsonl")
        generate_catalog(catalog, 200)
        first = self.cli("import", catalog)
        self.assertIn(FAST, first.stderr)
        self.assertEqual(self.journal_modes(), [2, 2])
        v = self.cli("verify")
        self.assertIn("index matches the store", v.stdout + v.stderr)
        # The store holds records now: the ordinary path, still correct.
        second = self.cli("import", catalog)
        self.assertNotIn(FAST, second.stderr)
        v = self.cli("verify")
        self.assertIn("index matches the store", v.stdout + v.stderr)


if __name__ == "__main__":
    unittest.main()
