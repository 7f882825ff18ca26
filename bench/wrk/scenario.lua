-- One benchmark scenario for wrk, configured from the environment by
-- bench/run.mjs. It classifies every response, so the harness counts only
-- what it meant to count:
--
--   BENCH_METHOD        GET or POST
--   BENCH_BODY          request body (static scenarios)
--   BENCH_HEADERS       extra headers, "Name: value" separated by newlines
--   BENCH_MODE          "success" (every answer must be the expected one) or
--                       "reject" (every answer must be a refusal)
--   BENCH_EXPECT_STATUS accepted statuses for the expected answer, e.g. "200" or "401,422"
--   BENCH_EXPECT_BODY   a plain substring the expected answer contains
--   BENCH_TOKENS_IN     refresh rotation: a file of refresh tokens, one a line;
--                       each request takes one token and each answer puts the
--                       new token back, so every token is presented exactly once
--   BENCH_TOKENS_OUT    where done() writes the tokens left unused
--   BENCH_AUTH_TOKENS   a file of access tokens, one a line: each request
--                       sends the next one as "Authorization: Bearer …",
--                       round-robin (the fresh-token scenario)
--   BENCH_THREADS       wrk's -t, to share the tokens between threads
--
-- done() prints one line "BENCH_RESULT {json}" with the counts and wrk's
-- latency percentiles (microseconds).

local env = os.getenv

wrk.method = env("BENCH_METHOD") or "GET"
wrk.body = env("BENCH_BODY")
for line in string.gmatch(env("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

local mode = env("BENCH_MODE") or "success"
local expect_body = env("BENCH_EXPECT_BODY") or ""
local expect_status = {}
for code in string.gmatch(env("BENCH_EXPECT_STATUS") or "200", "%d+") do
  expect_status[tonumber(code)] = true
end
local tokens_in = env("BENCH_TOKENS_IN")
local auth_tokens_in = env("BENCH_AUTH_TOKENS")
local threads = {}

-- Per-thread counters (each wrk thread has its own Lua state).
responses, non2xx, gql_errors, good, accepted, unexpected = 0, 0, 0, 0, 0, 0
invalid_refresh, rate_limited, exhausted = 0, 0, 0
sample = ""

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads - 1)
end

if tokens_in then
  queue, head, tail = {}, 1, 0

  function init(args)
    local n = tonumber(env("BENCH_THREADS") or "1")
    local i = 0
    for line in io.lines(tokens_in) do
      if line ~= "" then
        if i % n == thread_index then
          tail = tail + 1
          queue[tail] = line
        end
        i = i + 1
      end
    end
  end

  local query = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"

  function request()
    local token
    if head <= tail then
      token = queue[head]
      queue[head] = nil
      head = head + 1
    else
      -- No token left: send one that cannot be valid, so the answer is
      -- counted as an error rather than silently skipped.
      exhausted = exhausted + 1
      token = "pool-exhausted"
    end
    return wrk.format(nil, nil, nil, '{"query":"' .. query .. '","variables":{"t":"' .. token .. '"}}')
  end
end

if auth_tokens_in and not tokens_in then
  auth_tokens, auth_next = {}, 1

  function init(args)
    for line in io.lines(auth_tokens_in) do
      if line ~= "" then table.insert(auth_tokens, "Bearer " .. line) end
    end
    -- Each thread starts elsewhere in the list, so threads do not send the same token at once.
    auth_next = (thread_index * 7919) % #auth_tokens + 1
  end

  function request()
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["authorization"] = auth_tokens[auth_next]
    auth_next = auth_next % #auth_tokens + 1
    return wrk.format(nil, nil, headers, nil)
  end
end

function response(status, headers, body)
  responses = responses + 1
  local ok2xx = status >= 200 and status < 300
  local has_errors = string.find(body, '"errors"', 1, true) ~= nil
  if not ok2xx then non2xx = non2xx + 1 end
  if has_errors then gql_errors = gql_errors + 1 end
  if string.find(body, "INVALID_REFRESH_TOKEN", 1, true) then invalid_refresh = invalid_refresh + 1 end
  if string.find(body, "RATE_LIMITED", 1, true) then rate_limited = rate_limited + 1 end
  if tokens_in then
    local token = string.match(body, '"refreshToken":"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end

  local expected = expect_status[status] == true and string.find(body, expect_body, 1, true) ~= nil
  if mode == "success" then
    expected = expected and not has_errors
  elseif ok2xx and not has_errors then
    -- A rejection scenario answered like a success: the bad token was accepted.
    accepted = accepted + 1
    expected = false
  end
  if expected then
    good = good + 1
  else
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 300) end
    if mode ~= "reject" or not (ok2xx and not has_errors) then unexpected = unexpected + 1 end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local totals = {
    responses = 0, non2xx = 0, gql_errors = 0, good = 0, accepted = 0, unexpected = 0,
    invalid_refresh = 0, rate_limited = 0, exhausted = 0,
  }
  local first_sample = ""
  local left = {}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
    local s = thread:get("sample")
    if first_sample == "" and s then first_sample = s end
    if tokens_in then
      local q, h, t = thread:get("queue"), thread:get("head"), thread:get("tail")
      for i = h, t do
        if q[i] then table.insert(left, q[i]) end
      end
    end
  end
  local out = env("BENCH_TOKENS_OUT")
  if tokens_in and out then
    local f = assert(io.open(out, "w"))
    f:write(table.concat(left, "\n"), "\n")
    f:close()
  end

  local e = summary.errors
  local parts = {
    '"requests":' .. summary.requests,
    '"duration_us":' .. summary.duration,
    '"p50_us":' .. latency:percentile(50),
    '"p90_us":' .. latency:percentile(90),
    '"p99_us":' .. latency:percentile(99),
    '"max_us":' .. latency.max,
    '"socket_errors":{"connect":' .. e.connect .. ',"read":' .. e.read .. ',"write":' .. e.write
      .. ',"timeout":' .. e.timeout .. '}',
    '"tokens_left":' .. #left,
    '"sample":' .. json_string(first_sample),
  }
  for name, value in pairs(totals) do
    table.insert(parts, '"' .. name .. '":' .. value)
  end
  io.write("BENCH_RESULT {" .. table.concat(parts, ",") .. "}\n")
end
