-- wrk script: POST /m/lookup with the multipart body in the file named by BODY (boundary
-- "vigilbench"), as an HMA client uploads a photo to match.
local f = assert(io.open(os.getenv("BODY"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = os.getenv("UPLOAD_PATH") or "/m/lookup"
wrk.body = body
wrk.headers["Content-Type"] = "multipart/form-data; boundary=vigilbench"
