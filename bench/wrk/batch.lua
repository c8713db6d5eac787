-- wrk script: POST /api/v1/lookup with BATCH (default 100) signals per request, cycling through
-- the query hashes in the file named by QUERIES.
local queries = {}
for line in io.lines(os.getenv("QUERIES")) do
  queries[#queries + 1] = line
end
local batch = tonumber(os.getenv("BATCH") or "100")
local bodies = {}
for b = 0, math.floor(#queries / batch) - 1 do
  local parts = {}
  for j = 1, batch do
    parts[#parts + 1] = '"' .. queries[b * batch + j] .. '"'
  end
  bodies[#bodies + 1] = '{"signals":[' .. table.concat(parts, ",") .. ']}'
end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/v1/lookup", {["Content-Type"] = "application/json"}, bodies[i])
end
