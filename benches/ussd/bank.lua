-- wrk script: every request is the second hop of a new session (the bank
-- choice "1" after the stateless first screen): a new flow, the cached bank
-- list, the method menu rendered, the session sealed and written with
-- compare-and-set, the phone index written: the costliest hop without a partner call.
local thread_id = 0
local counter = 0
-- LuaJIT's math.random starts from the same seed in every run: without the
-- run's start time in the id, a second run against the same server would
-- replay the first run's session ids (for the bank choice, hops of sessions
-- that already exist, answered as gateway retries).
local run = os.time()

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

request = function()
  counter = counter + 1
  local id = string.format("%d_%d_%d_%d", run, tid or 0, counter, math.random(1, 1000000000))
  -- Digits only, 15 of them (E.164's most), as a gateway sends a phone
  -- number: an id with its underscores took the number's slow path,
  -- cleaning it a character at a time (1,200 instructions a hop no real
  -- hop spends). New in every request of every run for 2.7 hours (a
  -- number with a session elsewhere is offered it).
  local phone = string.format("254%04d%d%07d", run % 10000, (tid or 0) % 10, counter)
  local body = "sessionId=ATUid_" .. id
    .. "&serviceCode=%2A384%2A123%23&phoneNumber=%2B" .. phone
    .. "&networkCode=63902&text=1"
  return wrk.format("POST", "/ussd", { ["Content-Type"] = "application/x-www-form-urlencoded",
    -- The gateway token the server is started with (benches/ussd_load.sh).
    ["Authorization"] = "Bearer bench" }, body)
end
