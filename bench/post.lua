-- wrk script: POST the body in $BODY_FILE with $AUTH, counting statuses.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/x-ndjson"
if os.getenv("AUTH") then wrk.headers["Authorization"] = os.getenv("AUTH") end
