-- wrk script for bench/proxy_bench.py: POSTs a chat completion whose text carries a
-- counter ({n}), so no two requests are alike (no cache can help), and prints the
-- latency distribution as one JSON line.
local counter = 0
local template = os.getenv("BENCH_BODY")
local path = os.getenv("BENCH_PATH") or "/v1/chat/completions"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
for pair in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^;]+") do
  local name, value = string.match(pair, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

request = function()
  counter = counter + 1
  local body = string.gsub(template, "{n}", tostring(counter))
  return wrk.format(nil, path, nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "socket_errors": %d, "non2xx": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max))
end
