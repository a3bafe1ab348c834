"""Operations: health and readiness, Prometheus metrics, request ids, the
JSON access log and its rotation on SIGHUP, clean exit on SIGTERM, and a
clear failure when the port is taken."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import Server, ServerTestCase


def wait_for(predicate, timeout=5.0, step=0.05):
    """Polls predicate until it returns a true value (returned) or timeout (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line for line in f.read().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


class Ops(ServerTestCase):
    @classmethod
    def make_server_options(cls):
        cls.log_dir = tempfile.TemporaryDirectory(prefix="catalogd-e2e-log-")
        cls.log_path = os.path.join(cls.log_dir.name, "catalogd.log")
        return {"settings": {"log.file": cls.log_path, "log.access": "true"}}

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.log_dir.cleanup()

    def access_lines(self, path, request_id):
        """The access log lines (parsed) carrying request_id."""
        out = []
        for line in read_lines(path):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("request_id") == request_id:
                out.append(rec)
        return out

    def test_health(self):
        for path in ("/health/", "/healthz"):
            r = self.server.request("GET", path)
            self.assertEqual(r.status, 200, (path, r))
            self.assertIsInstance(r.json, dict)

    def test_readyz(self):
        r = self.server.request("GET", "/readyz")
        self.assertEqual(r.status, 200, r)
        self.assertIn("store", json.dumps(r.json))

    def metric(self, text, route, status):
        m = re.search(r'(?m)^catalogd_http_requests_total\{route="%s",status="%d"\} (\d+)$' %
                      (re.escape(route), status), text)
        return int(m.group(1)) if m else 0

    def metrics_text(self):
        r = self.server.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("text/plain"), r.headers)
        return r.body.decode("utf-8")

    def test_metrics_count_requests(self):
        before = self.metrics_text()
        for _ in range(3):
            self.assertEqual(self.api("GET", "courses/").status, 200)
        self.assertEqual(self.api("GET", "courses/AldenX+CS101/").status, 200)
        self.assertEqual(self.api("GET", "courses/Nope+Nope/").status, 404)
        self.assertEqual(self.server.request("GET", "/no/such/route").status, 404)
        after = self.metrics_text()
        self.assertIn("# TYPE catalogd_http_requests_total counter", after)
        self.assertEqual(self.metric(after, "courses_list", 200) -
                         self.metric(before, "courses_list", 200), 3)
        self.assertEqual(self.metric(after, "courses_detail", 200) -
                         self.metric(before, "courses_detail", 200), 1)
        self.assertEqual(self.metric(after, "courses_detail", 404) -
                         self.metric(before, "courses_detail", 404), 1)
        self.assertRegex(after, r'catalogd_http_request_duration_seconds_count\{route="courses_list"')
        for line in after.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.eE+-]+$'
                                 r'|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (\+Inf|NaN)$', line)

    def test_keep_alive(self):
        # Two requests on one connection: the server must not answer
        # Connection: close to an ordinary HTTP/1.1 GET.
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            for path in ("/api/v1/courses/", "/api/v1/organizations/"):
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                self.assertEqual(resp.status, 200)
                self.assertNotEqual((resp.getheader("Connection") or "").lower(), "close")
                self.assertFalse(resp.will_close, "the server closes after each request")
        finally:
            conn.close()

    def test_request_id_echoed(self):
        rid = "test-" + uuid.uuid4().hex
        r = self.api("GET", "courses/", headers={"X-Request-Id": rid})
        self.assertEqual(r.header("X-Request-Id"), rid)
        a = self.api("GET", "courses/").header("X-Request-Id")
        b = self.api("GET", "courses/").header("X-Request-Id")
        self.assertTrue(a and b and a != b, (a, b))
        # Error answers carry it too.
        r = self.api("GET", "courses/Nope+Nope/", headers={"X-Request-Id": rid})
        self.assertEqual(r.header("X-Request-Id"), rid)

    def test_access_log_one_json_line_per_request(self):
        ids = ["acc-%d-%s" % (i, uuid.uuid4().hex[:8]) for i in range(4)]
        paths = ["/api/v1/courses/", "/api/v1/courses/AldenX+CS101/", "/api/v1/nothing/",
                 "/healthz"]
        statuses = [200, 200, 404, 200]
        for rid, path in zip(ids, paths):
            self.server.request("GET", path, headers={"X-Request-Id": rid})
        self.assertTrue(wait_for(lambda: all(self.access_lines(self.log_path, i) for i in ids)),
                        "access lines missing from %s: %s" % (self.log_path,
                                                              read_lines(self.log_path)[-10:]))
        for rid, path, status in zip(ids, paths, statuses):
            lines = self.access_lines(self.log_path, rid)
            self.assertEqual(len(lines), 1, lines)
            rec = lines[0]
            self.assertEqual(rec["method"], "GET")
            self.assertEqual(rec["path"], path)
            self.assertEqual(rec["status"], status)
            self.assertIn("time", rec)

    def test_sighup_reopens_the_log(self):
        rid1 = "before-" + uuid.uuid4().hex
        self.server.request("GET", "/healthz", headers={"X-Request-Id": rid1})
        self.assertTrue(wait_for(lambda: self.access_lines(self.log_path, rid1)))
        rotated = self.log_path + ".1"
        os.rename(self.log_path, rotated)
        self.server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: os.path.exists(self.log_path)),
                        "SIGHUP did not create a new log file")
        rid2 = "after-" + uuid.uuid4().hex
        self.server.request("GET", "/healthz", headers={"X-Request-Id": rid2})
        self.assertTrue(wait_for(lambda: self.access_lines(self.log_path, rid2)),
                        "a request after SIGHUP is not in the new file")
        self.assertEqual(self.access_lines(rotated, rid2), [])
        self.assertTrue(self.access_lines(rotated, rid1))
        self.assertIsNone(self.server.proc.poll(), "SIGHUP stopped the server")
        self.assertHealthy()


class Lifecycle(unittest.TestCase):
    def test_sigterm_exits_zero(self):
        server = Server()
        try:
            server.start()
            self.assertEqual(server.get("/api/v1/courses/").status, 200)
            started = time.monotonic()
            self.assertEqual(server.stop(timeout=5), 0, server.stderr_text())
            self.assertLess(time.monotonic() - started, 5)
        finally:
            server.cleanup()

    def test_sigint_exits_zero(self):
        server = Server(catalog=None)
        try:
            server.start()
            server.proc.send_signal(signal.SIGINT)
            self.assertEqual(server.proc.wait(5), 0, server.stderr_text())
        finally:
            server.cleanup()

    def test_second_server_on_the_same_port_fails_clearly(self):
        first = Server(catalog=None)
        try:
            first.start()
            second = Server(catalog=None, settings={"server.listen": first.listen})
            try:
                second.listen = first.listen
                second.sets["server.listen"] = first.listen
                proc = subprocess.run(
                    [os.environ["CATALOGD_BIN"], "serve"] + second.set_args(),
                    capture_output=True, text=True, timeout=10)
            finally:
                second.cleanup()
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(str(first.port), proc.stderr)
            self.assertRegex(proc.stderr.lower(), r"in use|cannot (bind|listen)|address")
            # The first is unharmed.
            self.assertEqual(first.get("/healthz").status, 200)
        finally:
            status = first.stop()
            first.cleanup()
        self.assertEqual(status, 0)

    def test_bad_listen_address_fails_clearly(self):
        server = Server(catalog=None, settings={"server.listen": "999.1.1.1:80"})
        try:
            proc = subprocess.run([os.environ["CATALOGD_BIN"], "serve"] + server.set_args(),
                                  capture_output=True, text=True, timeout=10)
        finally:
            server.cleanup()
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("server.listen", proc.stderr)


def epoll_registrations(pid):
    """How many descriptors each epoll instance of process pid watches
    (Linux: one tfd line per descriptor in the epoll's fdinfo)."""
    counts = []
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) != "anon_inode:[eventpoll]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                counts.append(sum(1 for line in f if line.startswith("tfd:")))
        except OSError:
            continue
    return counts


class ConnectionSpread(unittest.TestCase):
    """Keep-alive connections opened in a burst are shared evenly by the
    worker threads: one worker's epoll holding twice the other's made its
    requests wait twice as long (the cached GET p99 in docs/benchmarks.md)."""

    def test_a_burst_of_connections_is_split_evenly_over_the_workers(self):
        import http.client
        import socket
        server = Server(catalog=None, settings={"server.threads": "2"})
        conns = []
        try:
            server.start()
            # All connected before any request, as a proxy's pool or a
            # load generator does.
            for _ in range(32):
                conns.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            for s in conns:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            for s in conns:
                resp = http.client.HTTPResponse(s)
                resp.begin()
                resp.read()
                self.assertEqual(resp.status, 200)
            counts = sorted(epoll_registrations(server.proc.pid))
            # The two busiest epolls are the workers' (the others watch a
            # descriptor or two); each must hold about 16 connections.
            workers = counts[-2:]
            self.assertGreaterEqual(min(workers), 16, counts)
            self.assertLessEqual(max(workers) - min(workers), 2, counts)
        finally:
            for s in conns:
                s.close()
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
