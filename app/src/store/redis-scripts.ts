/** The Lua scripts the Redis store runs: each is one atomic step on the server. */

// Starts a fixed window on the first hit; also repairs a counter that somehow lost its TTL.
export const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/*
 * Pinned keys (isPinnedKey) carry no Redis TTL, so that a volatile-* maxmemory policy can never
 * evict them: their deadlines (epoch ms, Redis's clock) are the scores of the sorted set
 * PINNED_DEADLINES_KEY instead. A pinned key past its deadline reads as absent and is deleted
 * by the next read or write of it, or by the sweep.
 */
export const PINNED_DEADLINES_KEY = 'pinned-deadlines';
const NOW_MS = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;
// KEYS[1] the key, KEYS[2] the deadlines; drops the key if its deadline has passed.
const EXPIRE_PINNED = `${NOW_MS}
local deadline = redis.call('ZSCORE', KEYS[2], KEYS[1])
if deadline and tonumber(deadline) <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
end`;
export const GET_PINNED = `${EXPIRE_PINNED}
return redis.call('GET', KEYS[1])`;
// ARGV[1] the value, ARGV[2] the TTL in ms (0: none), ARGV[3] 'NX' to set only an absent key.
export const SET_PINNED = `${EXPIRE_PINNED}
if ARGV[3] == 'NX' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), KEYS[1])
else redis.call('ZREM', KEYS[2], KEYS[1]) end
return 1`;
// KEYS[1] the deadlines; deletes up to ARGV[1] pinned keys past theirs.
export const SWEEP_PINNED = `${NOW_MS}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, key in ipairs(expired) do redis.call('DEL', key) end
if #expired > 0 then redis.call('ZREM', KEYS[1], unpack(expired)) end
return #expired`;
