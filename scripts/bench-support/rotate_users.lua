-- wrk script: each request carries the access token of the next user of a
-- file (one token per line), with the refresh cookie the service requires.
-- Each wrk thread takes every n-th line, so no two threads send one user;
-- when a thread runs out of tokens it starts over (its users are then known).
--
--   wrk -s rotate_users.lua <url> -- TOKENS_FILE THREADS ACCESS_COOKIE REFRESH_COOKIE

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local threads = tonumber(args[2])
  local access, refresh = args[3], args[4]
  tokens = {}
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % threads == id then
      tokens[#tokens + 1] = access .. "=" .. line .. "; " .. refresh .. "=present"
    end
    line_number = line_number + 1
  end
  position = 0
  wrapped = 0
end

function request()
  position = position + 1
  if position > #tokens then
    position = 1
    wrapped = wrapped + 1
  end
  return wrk.format("GET", nil, { ["Cookie"] = tokens[position] })
end
