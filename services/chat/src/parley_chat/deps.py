"""FastAPI dependencies of the chat service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from parley_chat.config import ChatSettings, get_chat_settings
from parley_common.redis import RateLimiter


# Dependencies are `async def` so FastAPI calls them inline instead of in its thread pool.
async def chat_settings() -> ChatSettings:
    return get_chat_settings()


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


ChatSettingsDep = Annotated[ChatSettings, Depends(chat_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
