-- GET /items/{id} over the ids the bench seeded (b0 .. b<n-1>).
local n = tonumber(os.getenv("SURGE_BENCH_ITEMS") or "1000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/items/b" .. math.random(0, n - 1))
end
