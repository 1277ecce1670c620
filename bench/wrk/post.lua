-- POST /items with a 256-byte item; the server assigns each id.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench item","price":12.5,"qty":3,"tags":["a","b","c"],"note":"' .. string.rep("x", 160) .. '"}'
