-- A submit with the password left out: a 422 field error, nothing reaches
-- the partner and nothing is written.
wrk.method = "POST"
wrk.path = "/link/v1/session/actions"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LINK_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"seq":' .. os.getenv("LINK_SEQ") .. ',"action":{"type":"submit","values":{"username":"user_good"}}}'
