-- wrk script: POST /api/auth/login with the user bench/auth.sh signed up.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"bench-password"}'

local ok, bad = 0, 0
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end
