"""CPU an agent request pays for the revocation check (parley_common.revocation).

Every agent request verifies its token (cached per token string) and then asks Redis whether
its session ended or its role changed, remembered per session for
``session_check_cache_seconds``. Measured in one process against the local Redis, CPU time
(``process_time``) per call:

- ``verify_only``: the token check alone (what every request paid before);
- ``check_cached``: token check + revocation check answered from the local memory;
- ``check_redis``: token check + revocation check that reads Redis (one MGET), i.e. the
  first request of a session in each cache period.

Run: uv run python -m bench session_check  → bench/results/session_check.json
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import write_results

CALLS = 20_000


async def main() -> None:
    from parley_common.cli import remove_namespace
    from parley_common.redis import create_redis
    from parley_common.revocation import Revocations
    from parley_common.security import generate_key_pair, issue_agent_token, verify_agent_token
    from parley_common.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    generate_key_pair(tmp / "private.pem", tmp / "public.pem")
    settings = Settings(
        namespace=f"bench{uuid.uuid4().hex[:8]}",
        jwt_private_key_file=tmp / "private.pem",
        jwt_public_key_file=tmp / "public.pem",
    )
    redis = create_redis(settings)
    agent, account, session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token = issue_agent_token(agent, account, "agent", session, settings)
    cached = Revocations(redis, settings)
    uncached = Revocations(redis, settings.model_copy(update={"session_check_cache_seconds": 0}))

    async def verify_only() -> None:
        verify_agent_token(token, settings)

    async def check(revocations: Revocations) -> None:
        principal = verify_agent_token(token, settings)
        await revocations.check(principal.session_id, principal.agent_id)

    async def cpu_per_call(call: Any) -> float:
        await call()
        started = time.process_time()
        for _ in range(CALLS):
            await call()
        return round((time.process_time() - started) / CALLS * 1e6, 2)

    try:
        results = {
            "calls": CALLS,
            "cache_seconds": settings.session_check_cache_seconds,
            "cpu_us_per_request": {
                "verify_only": await cpu_per_call(verify_only),
                "check_cached": await cpu_per_call(lambda: check(cached)),
                "check_redis": await cpu_per_call(lambda: check(uncached)),
            },
        }
    finally:
        await redis.aclose()
        await remove_namespace(settings, database=False)
    write_results("session_check", results)


if __name__ == "__main__":
    asyncio.run(main())
