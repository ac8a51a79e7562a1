-- bench/soak/mixed.lua - wrk script of bench/soak.sh: a weighted mix of
-- chopin-demo's routes, every answer checked against what its request
-- expects.
--
--   wrk -tN -cN -s bench/soak/mixed.lua URL -- ACCOUNTS [UPLOAD_BYTES] [MIX]
--
-- ACCOUNTS: a file of "username token" lines, one account per wrk thread
-- (soak.sh signs them up). UPLOAD_BYTES (default 4096): the size of the file
-- each upload sends. MIX: "kind=weight,..." over the kinds below (weights
-- are relative; a kind left out keeps its default, weight 0 drops it).
--
-- Why one connection per thread (-t and -c equal): wrk tells response()
-- nothing about the connection it comes from, so only with one connection
-- per Lua state is "the request in flight" known when its answer arrives.
-- Each answer is then checked against its own request: the status it must
-- have, and a piece of its body. A request issued while the previous one had
-- no answer (wrk reconnected after a socket error) counts as "lost".
--
-- Each thread owns one account and keeps at most MAX_LIVE todos alive: it
-- deletes what it creates, so the table (and SQLite's page cache) stays
-- the same size however long the soak runs.

local MAX_LIVE = 8

-- Each kind, its default weight (per mille) and the status its answer must
-- have. json: hello; db: the todos; auth: login (argon2id on the offload
-- pool, 20-40 ms of a core each: kept rare) and me (token verification and
-- a users row); uploads: a small multipart form.
local kinds = {
  { name = "hello",       weight = 400, status = 200 },
  { name = "todo-create", weight = 90,  status = 201 },
  { name = "todo-list",   weight = 80,  status = 200 },
  { name = "todo-get",    weight = 100, status = 200 },
  { name = "todo-patch",  weight = 80,  status = 200 },
  { name = "todo-delete", weight = 90,  status = 204 },
  { name = "me",          weight = 100, status = 200 },
  { name = "login",       weight = 3,   status = 200 },
  { name = "upload",      weight = 57,  status = 201 },
}
local by_name = {}
for _, k in ipairs(kinds) do by_name[k.name] = k end

-- Per thread (these globals are read back by done() through thread:get).
counts, errors, samples, lost, uploaded_bytes = {}, {}, {}, 0, 0

local threads, next_id = {}, 1
function setup(thread)
  thread:set("thread_no", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local username, token, upload_bytes, upload_body, upload_type
local cumulative, total_weight = {}, 0
local live = {}       -- ids of this account's todos, oldest first
local pending = nil   -- the request in flight: { kind = ..., id = ... }
local seq = 0

function init(args)
  local path = args[1] or error("mixed.lua: give the accounts file after --")
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    if n == thread_no then username, token = line:match("^(%S+)%s+(%S+)$") end
  end
  if not token then error("mixed.lua: no account for thread " .. thread_no .. " in " .. path) end
  upload_bytes = tonumber(args[2] or "4096")
  for item in string.gmatch(args[3] or "", "[^,]+") do
    local name, w = item:match("^%s*([%w-]+)%s*=%s*(%d+)%s*$")
    if not name or not by_name[name] then error("mixed.lua: bad MIX item '" .. item .. "'") end
    by_name[name].weight = tonumber(w)
  end
  for _, k in ipairs(kinds) do
    total_weight = total_weight + k.weight
    table.insert(cumulative, { upto = total_weight, kind = k.name })
    counts[k.name], errors[k.name] = 0, 0
  end
  math.randomseed(thread_no * 7919 + os.time())
  -- One small text file (libmagic sniffs text/plain): the same bytes each
  -- time, a fresh stored file each time (soak.sh removes them as they come).
  local boundary = "----chopin-soak-boundary"
  local line = string.rep("chopin soak upload ", 4):sub(1, 63) .. "\n"
  local content = string.rep(line, math.ceil(upload_bytes / 64)):sub(1, upload_bytes)
  upload_type = "multipart/form-data; boundary=" .. boundary
  upload_body = table.concat({
    "--" .. boundary,
    'Content-Disposition: form-data; name="note"',
    "",
    "soak",
    "--" .. boundary,
    'Content-Disposition: form-data; name="file"; filename="soak.txt"',
    "Content-Type: text/plain",
    "",
    content,
    "--" .. boundary .. "--",
    "",
  }, "\r\n")
end

local function pick()
  local r = math.random(total_weight)
  for _, c in ipairs(cumulative) do
    if r <= c.upto then return c.kind end
  end
end

local auth_json = nil
local function headers(json)
  if json then
    auth_json = auth_json or { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
    return auth_json
  end
  return { ["Authorization"] = "Bearer " .. token }
end

local verified = false
function request()
  -- wrk calls the first thread's request() once before the load, to count
  -- the requests it returns (script_verify_request); that one is never sent.
  if thread_no == 1 and not verified then
    verified = true
    return wrk.format("GET", "/hello/x")
  end
  if pending then -- its answer never came
    lost = lost + 1
    if #samples < 5 then table.insert(samples, pending.kind .. " lost (no answer)") end
  end
  local kind = pick()
  -- Keep the todos bounded: a full account deletes instead of creating, an
  -- empty one creates instead of reading, changing or deleting.
  if kind == "todo-create" and #live >= MAX_LIVE then kind = "todo-delete" end
  if (kind == "todo-get" or kind == "todo-patch" or kind == "todo-delete") and #live == 0 then
    kind = "todo-create"
  end
  counts[kind] = counts[kind] + 1
  seq = seq + 1
  if kind == "hello" then
    pending = { kind = kind }
    return wrk.format("GET", "/hello/x")
  elseif kind == "todo-create" then
    pending = { kind = kind }
    return wrk.format("POST", "/todos", headers(true),
      '{"title":"soak ' .. seq .. '","tag":"work","priority":' .. (seq % 5 + 1) .. "}")
  elseif kind == "todo-list" then
    pending = { kind = kind }
    -- Two shapes of the list, each a key of the per-user response cache.
    local q = (seq % 2 == 0) and "/todos?per_page=20" or "/todos?done=false&sort=-priority"
    return wrk.format("GET", q, headers(false))
  elseif kind == "todo-get" then
    local id = live[math.random(#live)]
    pending = { kind = kind, id = id }
    return wrk.format("GET", "/todos/" .. id, headers(false))
  elseif kind == "todo-patch" then
    local id = live[math.random(#live)]
    pending = { kind = kind, id = id }
    return wrk.format("PATCH", "/todos/" .. id, headers(true), '{"done":true,"priority":3}')
  elseif kind == "todo-delete" then
    local id = table.remove(live, 1)
    pending = { kind = kind, id = id }
    return wrk.format("DELETE", "/todos/" .. id, headers(false))
  elseif kind == "me" then
    pending = { kind = kind }
    return wrk.format("GET", "/api/auth/me", headers(false))
  elseif kind == "login" then
    pending = { kind = kind }
    return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" },
      '{"username":"' .. username .. '","password":"soak-password"}')
  else -- upload
    pending = { kind = kind }
    return wrk.format("POST", "/uploads", { ["Content-Type"] = upload_type }, upload_body)
  end
end

-- A piece of the body each kind's answer must hold (nil: no check).
local function body_ok(p, body)
  local k = p.kind
  if k == "hello" then return body:find('"Hello, x!"', 1, true) ~= nil end
  if k == "todo-get" or k == "todo-patch" then return body:find('"id":' .. p.id .. ",", 1, true) ~= nil end
  if k == "me" then return body:find('"username":"' .. username .. '"', 1, true) ~= nil end
  if k == "login" then return body:find('"access_token":"', 1, true) ~= nil end
  if k == "upload" then return body:find('"size":' .. upload_bytes .. ",", 1, true) ~= nil end
  if k == "todo-list" then return body:find('"items":[', 1, true) ~= nil end
  return true
end

function response(status, hdrs, body)
  local p = pending
  pending = nil
  if not p then return end
  local ok = status == by_name[p.kind].status and body_ok(p, body or "")
  if ok and p.kind == "todo-create" then
    local id = body:match('"id":(%d+)')
    if id then table.insert(live, id) else ok = false end
  end
  if ok and p.kind == "upload" then uploaded_bytes = uploaded_bytes + upload_bytes end
  if not ok then
    errors[p.kind] = errors[p.kind] + 1
    if #samples < 5 then
      table.insert(samples, p.kind .. " " .. status .. " " .. (body or ""):sub(1, 160):gsub("%s+", " "))
    end
  end
end

-- Main Lua state: sums the threads' counts and prints them as lines that
-- soak.sh reads ("SOAK kind requests errors").
function done(summary, latency, requests)
  local total_counts, total_errors, all_samples, all_lost, bytes = {}, {}, {}, 0, 0
  for _, k in ipairs(kinds) do total_counts[k.name], total_errors[k.name] = 0, 0 end
  for _, t in ipairs(threads) do
    local c, e, s = t:get("counts"), t:get("errors"), t:get("samples")
    for name, n in pairs(c) do total_counts[name] = total_counts[name] + n end
    for name, n in pairs(e) do total_errors[name] = total_errors[name] + n end
    for _, line in ipairs(s) do table.insert(all_samples, line) end
    all_lost = all_lost + t:get("lost")
    bytes = bytes + t:get("uploaded_bytes")
  end
  -- A count is of requests issued; the last one of each connection may still
  -- have been in flight when wrk stopped: not an error.
  for _, k in ipairs(kinds) do
    io.write(string.format("SOAK %s %d %d\n", k.name, total_counts[k.name], total_errors[k.name]))
  end
  local se = summary.errors
  io.write(string.format("SOAK lost %d\n", all_lost))
  io.write(string.format("SOAK socket %d %d %d %d %d\n", se.connect, se.read, se.write, se.timeout, se.status))
  io.write(string.format("SOAK completed %d %d\n", summary.requests, summary.duration))
  io.write(string.format("SOAK uploaded_bytes %d\n", bytes))
  for i = 1, math.min(#all_samples, 10) do io.write("SOAK sample " .. all_samples[i] .. "\n") end
end
