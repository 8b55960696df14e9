"""Rate limits and the sign-in throttle in Redis, shared by several app hosts.

With ``RATELIMIT_STORAGE_URL`` (``redis://host:6379/0``) set, the counts that
``limits.admit`` and ``auth.begin_attempt`` otherwise keep in the database
live in Redis instead: each bucket is a sorted set of events scored by the
Redis server's own clock (so the hosts' clocks do not matter), and each
check-and-count is one Lua script, which Redis runs alone: exact across
every process of every host. Keys expire with their window.

If Redis cannot be reached, posts are let through (a warning is logged:
readers keep being heard, the moderation rules still apply) but sign-in is
refused, since an unthrottled sign-in is an open door. Any other Redis
error is a bug and raises.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any

logger = logging.getLogger(__name__)

# KEYS: the buckets. ARGV: window (ms), a new event's id, then each bucket's
# limit. Returns 0 and counts the event in every bucket, or the wait in ms.
_ADMIT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + window - now)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
end
return 0
"""

# KEYS: the account's failures, the client's. ARGV: window (ms), slow-after,
# the attempt's id, the account's lock limit, the client's. Returns {0, 0}
# after recording the attempt as a failure, or {wait ms, 1 if locked}.
_BEGIN_SIGNIN = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[1])
local slow = tonumber(ARGV[2])
local wait, locked = 0, 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  local limit = tonumber(ARGV[3 + i])
  if n >= limit then
    local at = n - limit
    local first = tonumber(redis.call('ZRANGE', key, at, at, 'WITHSCORES')[2])
    wait, locked = math.max(wait, first + window - now), 1
  elseif n >= slow then
    local last = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
    local until_ = last + 1000 * 2 ^ (n - slow)
    if until_ > now then wait = math.max(wait, until_ - now) end
  end
end
if wait > 0 then return {math.ceil(wait), locked} end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
end
return {0, 0}
"""


class Unavailable(Exception):
    """Redis could not be reached."""


class RedisLimits:
    """The shared counters of one Redis database (see the module's docstring)."""

    def __init__(self, url: str, prefix: str = "feedback:") -> None:
        import redis  # only hosts that share their limits load it

        self._errors = (redis.ConnectionError, redis.TimeoutError)
        # A Redis on the local network answers in a millisecond; one that
        # does not answer must not hold a post (and SQLite's write lock) long.
        self.client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self.prefix = prefix
        self._admit = self.client.register_script(_ADMIT)
        self._begin_signin = self.client.register_script(_BEGIN_SIGNIN)

    def admit(self, buckets: Iterable[tuple[str, int]], window: int) -> int:
        """Count a post in ``buckets`` (name, limit) over ``window`` seconds;
        return 0, or the seconds to wait if a bucket is full (nothing counted).

        :raise Unavailable: if Redis cannot be reached.
        """
        active = [(b, n) for b, n in buckets if n > 0]
        if not active:
            return 0
        keys = [f"{self.prefix}post:{b}" for b, _ in active]
        args = [window * 1000, uuid.uuid4().hex, *(n for _, n in active)]
        try:
            wait_ms = int(self._admit(keys=keys, args=args))
        except self._errors as exc:
            raise Unavailable(str(exc)) from exc
        return -(-wait_ms // 1000)

    def begin_signin(
        self, account: str, client: str, config: Any
    ) -> tuple[str, int, bool]:
        """Record a sign-in try as a failure unless the throttle refuses it.

        Returns the attempt's id, then 0 and False, or the seconds to wait
        and whether it is a lock (nothing recorded then).

        :raise Unavailable: if Redis cannot be reached.
        """
        attempt = uuid.uuid4().hex
        keys = [
            self._signin_key("account", account),
            self._signin_key("client", client),
        ]
        args = [
            config["SIGNIN_WINDOW_MINUTES"] * 60_000,
            config["SIGNIN_SLOW_AFTER"],
            attempt,
            config["SIGNIN_LOCK_AFTER"],
            config["SIGNIN_LOCK_AFTER_CLIENT"],
        ]
        try:
            wait_ms, locked = self._begin_signin(keys=keys, args=args)
        except self._errors as exc:
            raise Unavailable(str(exc)) from exc
        return attempt, -(-int(wait_ms) // 1000), bool(locked)

    def signin_succeeded(self, account: str, client: str, attempt: str) -> None:
        """Forget the account's failures, and this try from the client's."""
        try:
            pipe = self.client.pipeline()
            pipe.delete(self._signin_key("account", account))
            pipe.zrem(self._signin_key("client", client), attempt)
            pipe.execute()
        except self._errors:
            logger.warning("sign-in counts could not be reset in Redis")

    def account_failures(self, account: str) -> int:
        """How many failed tries of ``account`` are in the window now."""
        try:
            return int(self.client.zcard(self._signin_key("account", account)))
        except self._errors:
            return 0

    def _signin_key(self, kind: str, value: str) -> str:
        return f"{self.prefix}signin:{kind}:{value}"


@cache
def _limits_for(url: str, prefix: str) -> RedisLimits:
    return RedisLimits(url, prefix)


def shared(config: Any) -> RedisLimits | None:
    """The Redis counters ``config`` names, or None to count in the database."""
    url = config.get("RATELIMIT_STORAGE_URL")
    if not url:
        return None
    return _limits_for(url, config.get("RATELIMIT_KEY_PREFIX", "feedback:"))
