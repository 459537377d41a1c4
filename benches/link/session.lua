-- GET /link/v1/session with the link token from the environment.
wrk.method = "GET"
wrk.path = "/link/v1/session"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LINK_TOKEN")
