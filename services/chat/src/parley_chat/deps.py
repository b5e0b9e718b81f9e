"""FastAPI dependencies of the chat service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from parley_chat.config import ChatSettings, get_chat_settings
from parley_chat.storage import LocalStorage, Storage
from parley_common.redis import RateLimiter


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def local_storage(settings: ChatSettings) -> LocalStorage:
    return LocalStorage(settings.storage_dir / "chat")


ChatSettingsDep = Annotated[ChatSettings, Depends(get_chat_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
RedisDep = Annotated[Redis, Depends(get_redis)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
