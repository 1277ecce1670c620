-- GET /api/collections/items/records/{id} over the records bench/serve-wrk.sh
-- seeded in PocketBase (b00000000000000 .. 15 characters, PocketBase's id
-- form): the same request as get.lua's, in PocketBase's API.
local n = tonumber(os.getenv("SURGE_BENCH_ITEMS") or "1000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("/api/collections/items/records/b%014d", math.random(0, n - 1)))
end
