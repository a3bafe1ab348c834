-- wrk script for a fixed URL: no request() hook, so wrk keeps its
-- pre-built request and measures the server, not Lua.  Prints the same
-- BENCH_JSON line as paths.lua.

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "errors": %d}\n',
    summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
