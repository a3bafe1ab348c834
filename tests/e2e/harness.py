"""Shared machinery for the end-to-end tests: run the real catalogd binary.

The binary comes from $CATALOGD_BIN and the repository from
$CATALOGD_SOURCE_DIR (CTest sets both).  Each Server gets its own temporary
directory (store, logs), its own loopback port, and is always stopped: by
the test's cleanup, and failing that by an atexit hook, so a failed test
never leaves a catalogd behind holding a port.
"""

import atexit
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("CATALOGD_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
SAMPLE_CATALOG = os.path.join(SOURCE_DIR, "data", "sample-catalog.jsonl")
GENERATOR = os.path.join(SOURCE_DIR, "tests", "gen_catalog.py")

# Every process started here, so that atexit can reap what a crash left.
_live = []


def binary():
    path = os.environ.get("CATALOGD_BIN")
    if not path:
        raise RuntimeError("CATALOGD_BIN is not set (the path of the built catalogd binary)")
    if not os.access(path, os.X_OK):
        raise RuntimeError("CATALOGD_BIN=%s is not an executable" % path)
    return path


@atexit.register
def _reap():
    for proc in list(_live):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def free_port():
    """A loopback port nobody listens on right now (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra=None):
    """The environment without any CATALOGD_* setting leaking in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOGD_")}
    env.update(extra or {})
    return env


def run_cli(args, stdin=None, env=None, timeout=120, cwd=None):
    """Runs `catalogd ARGS`; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([binary()] + list(args), input=stdin, capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout, cwd=cwd)


def generate_catalog(path, n, seed=1):
    """Writes tests/gen_catalog.py N SEED into path; returns the records."""
    out = subprocess.run([sys.executable, GENERATOR, str(n), str(seed)], capture_output=True,
                         text=True, check=True, timeout=120)
    with open(path, "w", encoding="utf-8") as f:
        f.write(out.stdout)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip() and not line.startswith("#")]


class Response:
    """status, headers (case-insensitive lookup via .header), parsed json, raw body.

    Unpacks as (status, headers, json) as the tests mostly want."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Server:
    """One `catalogd serve` on a free loopback port over a fresh store.

    catalog: a JSON Lines file imported before serving (None: empty store).
    settings: extra {"section.key": value} passed as --set.
    """

    def __init__(self, catalog=SAMPLE_CATALOG, clock_now=None, writes=False, settings=None,
                 env=None, rate_limit=False):
        self.tmp = tempfile.TemporaryDirectory(prefix="catalogd-e2e-")
        self.dir = self.tmp.name
        self.store_path = os.path.join(self.dir, "catalog.db")
        self.port = free_port()
        self.listen = "127.0.0.1:%d" % self.port
        self.sets = {"store.path": self.store_path, "server.listen": self.listen}
        if clock_now:
            self.sets["clock.now"] = clock_now
        if writes:
            self.sets["auth.allow_anonymous_writes"] = "true"
        if not rate_limit:
            # Tests make bursts of requests from one address; only the
            # security tests exercise the (default-on) rate limiter.
            self.sets["ratelimit.enabled"] = "false"
        self.sets.update(settings or {})
        self.env = env
        self.catalog = catalog
        self.proc = None
        self.stdout_path = os.path.join(self.dir, "serve.stdout")
        self.stderr_path = os.path.join(self.dir, "serve.stderr")

    # -- command line -------------------------------------------------

    def set_args(self, only_store=False):
        args = []
        for k, v in self.sets.items():
            if only_store and not (k.startswith("store.") or k == "mode"):
                continue
            args += ["--set", "%s=%s" % (k, v)]
        return args

    def cli(self, *args, stdin=None):
        """Runs a catalogd command against this server's store."""
        return run_cli(list(args) + self.set_args(only_store=True), stdin=stdin, env=self.env)

    def import_file(self, path, *extra):
        r = self.cli("import", path, *extra)
        if r.returncode != 0:
            raise AssertionError("catalogd import %s failed (%d): %s" % (path, r.returncode,
                                                                       r.stderr))
        return r

    # -- lifecycle ----------------------------------------------------

    def start(self, timeout=15):
        if self.catalog:
            self.import_file(self.catalog)
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([binary(), "serve"] + self.set_args(), stdout=self._out,
                                     stderr=self._err, env=clean_env(self.env))
        _live.append(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("catalogd serve exited with %d before answering: %s" %
                                     (self.proc.returncode, self.stderr_text()))
            try:
                if self.request("GET", "/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError("catalogd serve did not answer /healthz within %ds: %s" %
                             (timeout, self.stderr_text()))

    def stop(self, timeout=5):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return 0
        status = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                status = None
        else:
            status = self.proc.returncode
        self._close_files()
        return status

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_files()

    def _close_files(self):
        if self.proc in _live:
            _live.remove(self.proc)
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f is not None and not f.closed:
                f.close()

    def cleanup(self):
        self.kill()
        self.tmp.cleanup()

    def stderr_text(self):
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    # -- HTTP ---------------------------------------------------------

    def url(self, path):
        return "http://%s%s" % (self.listen, path)

    @staticmethod
    def path_with(path, params):
        if not params:
            return path
        query = params if isinstance(params, str) else urllib.parse.urlencode(params, doseq=True)
        return path + ("&" if "?" in path else "?") + query

    def request(self, method, path, params=None, body=None, headers=None, timeout=30):
        """One request on a new connection.  body: bytes/str sent as is, or
        any other value sent as JSON with Content-Type application/json."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (bytes, str)):
                data = body.encode("utf-8") if isinstance(body, str) else body
            else:
                data = json.dumps(body).encode("utf-8")
                hdrs.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, self.path_with(path, params), body=data, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def raw(self, data, timeout=10):
        """Sends raw bytes on a socket; returns every byte answered."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    chunks.append(c)
            except (socket.timeout, ConnectionResetError):
                pass  # a server may close or reset a connection it refuses
            return b"".join(chunks)

    def get(self, path, params=None, headers=None):
        return self.request("GET", path, params, headers=headers)

    def post(self, path, body, headers=None):
        return self.request("POST", path, body=body, headers=headers)

    def put(self, path, body, headers=None):
        return self.request("PUT", path, body=body, headers=headers)

    def patch(self, path, body, headers=None):
        return self.request("PATCH", path, body=body, headers=headers)

    def delete(self, path, headers=None):
        return self.request("DELETE", path, headers=headers)

    def api(self, method, path, params=None, body=None, headers=None):
        """As request, with path relative to /api/v1/."""
        return self.request(method, "/api/v1/" + path.lstrip("/"), params, body, headers)

    def get_json(self, path, params=None):
        """GET that must answer 200 with JSON; returns the JSON."""
        r = self.api("GET", path, params)
        if r.status != 200:
            raise AssertionError("GET %s %r -> %d %r" % (path, params, r.status, r.body[:500]))
        return r.json

    def walk(self, path, params=None, limit=100000):
        """Follows `next` from a first page to the end; returns (pages, results)."""
        page = self.get_json(path, params)
        pages = [page]
        results = list(page["results"])
        while page["next"] is not None and len(pages) < limit:
            page = self.get_json(self.local(page["next"]))
            pages.append(page)
            results.extend(page["results"])
        return pages, results

    @staticmethod
    def local(absolute_url):
        """The path+query (relative to /api/v1/) of an absolute next/previous URL."""
        u = urllib.parse.urlsplit(absolute_url)
        path = u.path
        assert path.startswith("/api/v1/"), absolute_url
        return path[len("/api/v1/"):] + ("?" + u.query if u.query else "")


class ServerTestCase(unittest.TestCase):
    """One server for the whole class, started in setUpClass, stopped (and
    checked to exit 0 on SIGTERM) in tearDownClass."""

    server_options = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(**cls.make_server_options())
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def make_server_options(cls):
        return dict(cls.server_options)

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        err = cls.server.stderr_text()
        cls.server.cleanup()
        if status != 0:
            raise AssertionError("catalogd serve exited %r on SIGTERM (want 0): %s" % (status, err))

    # Shorthands.
    def api(self, method, path, params=None, body=None, headers=None):
        return self.server.api(method, path, params, body, headers)

    def get_json(self, path, params=None):
        return self.server.get_json(path, params)

    def assertHealthy(self):
        r = self.server.request("GET", "/healthz")
        self.assertEqual(r.status, 200, "server no longer healthy: %r" % r)

    def assertDRFError(self, r, status, field=None):
        """Status and a JSON object body; with field, a field error
        {field: [message, ...]}, else {"detail": message}."""
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.json, dict, "error body is not a JSON object: %r" % r)
        self.assertIn("json", (r.header("Content-Type") or "").lower(), r.headers)
        if field is None:
            self.assertIn("detail", r.json, r)
            self.assertIsInstance(r.json["detail"], str, r)
            self.assertTrue(r.json["detail"], r)
        else:
            self.assertIn(field, r.json, r)
            self.assertIsInstance(r.json[field], list, r)
            self.assertTrue(r.json[field] and all(isinstance(m, str) and m for m in r.json[field]),
                            r)


def by_kind(records):
    """{kind: [record, ...]} with runs nested in courses flattened out as
    course_run records (their "course" filled in)."""
    out = {}
    for rec in records:
        rec = dict(rec)
        runs = rec.pop("course_runs", None) if rec["kind"] == "course" else None
        out.setdefault(rec["kind"], []).append(rec)
        for run in runs or []:
            run = dict(run, kind="course_run", course=rec["key"])
            out.setdefault("course_run", []).append(run)
    return out


def is_public_run(run):
    return run.get("status") == "published" and not run.get("hidden")


# -- normal mode over the fixtures (tests/pg_fixture.sh, tests/redis_fixture.sh) --

def fixture_env(name):
    """The value a fixture exported; a test run outside its fixture fails
    here (a test that cannot reach its server fails, it does not skip)."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run under tests/pg_fixture.sh and "
                           "tests/redis_fixture.sh (see tests/CMakeLists.txt)" % name)
    return value


def normal_settings(cache_prefix=None, search_url=None):
    """--set values for mode = normal: the store (and, unless search_url
    names another database, the pgfts index) in the fixture's PostgreSQL,
    each Server in its own schema (schema=@path), the cache in the
    fixture's Redis under a prefix of its own (give two Servers the same
    prefix to share cache generations)."""
    prefix = cache_prefix or "e2e-%s:" % os.urandom(6).hex()
    s = {"mode": "normal", "store.url": fixture_env("CATALOGD_TEST_STORE_URL"),
         "cache.url": fixture_env("CATALOGD_TEST_REDIS_URL"), "cache.prefix": prefix}
    if search_url:
        s["search.url"] = search_url
    return s


def fixture_ctl(env_name, action):
    """Stops or starts a fixture's server (env_name: PG_FIXTURE_CTL,
    CATALOGD_TEST_REDIS_CTL, ...); raises when the script fails."""
    subprocess.run(["sh", fixture_env(env_name), action], check=True, timeout=60,
                   capture_output=True)


def sorted_json(value):
    """value as canonical bytes: keys sorted, one spelling, for byte-for-byte
    comparison of two servers' answers."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def full_cli(server, *args, stdin=None):
    """Runs a catalogd command with every setting of server (not only the
    store's), for commands that also reach the search index or the cache
    through settings other than store.*."""
    return run_cli(list(args) + server.set_args(), stdin=stdin, env=server.env)
