-- wrk script: GET /m/lookup?signal_type=pdq&signal=<hash>, cycling through the query hashes in
-- the file named by the QUERIES environment variable (one hex hash per line).
local queries = {}
for line in io.lines(os.getenv("QUERIES")) do
  queries[#queries + 1] = line
end
local prefix = os.getenv("LOOKUP_PATH") or "/m/lookup?signal_type=pdq&signal="
local i = 0
request = function()
  i = i % #queries + 1
  return wrk.format("GET", prefix .. queries[i])
end
