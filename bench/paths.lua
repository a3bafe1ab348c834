-- wrk script: each request takes the next path of a file (PATHS env var;
-- one path per line), each thread starting at its own offset, so that a
-- run of distinct queries never repeats within the run; for a fixed URL
-- use static.lua.  At the end it prints one JSON line
-- with requests/s and latency percentiles (milliseconds) for bench/run.
-- No response() hook: it would make wrk parse every body and cap its own
-- rate; bench/run reads wrk's "Non-2xx or 3xx responses" line instead.

local paths = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local file = os.getenv("PATHS")
  if file then
    for line in io.lines(file) do
      if #line > 0 then table.insert(paths, line) end
    end
  end
  n = #paths
  -- Spread the threads over the list.
  i = (id or 0) * math.floor(n / 2)
end

function request()
  if n == 0 then return wrk.format(nil) end
  i = i + 1
  return wrk.format(nil, paths[(i % n) + 1])
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "errors": %d}\n',
    summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
