-- wrk script for bench/load.py: prints one JSON line after the run.
-- wrk's --latency shows p50/p75/p90/p99 only; this adds p95 and the error counts.
-- "status" counts responses with a status of 400 or more ("Non-2xx or 3xx responses").

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, '
      .. '"status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(95) / 1000,
      e.status, e.connect, e.read, e.write, e.timeout))
end
