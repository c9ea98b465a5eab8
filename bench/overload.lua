-- wrk script for bench/overload.sh: POSTs one explain request (the body comes from the
-- environment variable OVERLOAD_BODY_FILE) with Cache-Control: no-cache, so every request is
-- computed, and counts answers by status across wrk's threads.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("OVERLOAD_BODY_FILE"), "rb"))
  local body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.path = os.getenv("OVERLOAD_PATH")
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Cache-Control"] = "no-cache"
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  local seconds = summary.duration / 1e6
  local parts = {}
  for status, count in pairs(totals) do
    table.insert(parts, string.format("%d=%d", status, count))
  end
  table.sort(parts)
  io.write(string.format("statuses %s ok_per_second %.2f\n", table.concat(parts, " "), (totals[200] or 0) / seconds))
end
