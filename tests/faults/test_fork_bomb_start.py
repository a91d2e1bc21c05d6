"""A fork bomb as the very first job of a freshly started system ends on time (issue 7.5).

Seen once: a Python fork bomb as the first job after a fresh start (validation off, a 4 s limit,
two slots) gave its client no event for 90 s. Each round here starts Redis, gateway and worker
anew and at once runs the Python and the C fork bombs side by side, each bounded in time to its
`complete`. Real parts throughout.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.client import Outcome, run
from tests.conftest import RedisServer, Stack, scaled, start_stack
from tests.hostile.cases import C_FORK_BOMB, PY_FORK_BOMB

pytestmark = pytest.mark.e2e

ROUNDS = 3
LIMIT_S = 4
# The limit, then the kill and the verdict; a compile for C (about 0.2 s) before its limit runs.
BOUND_S = LIMIT_S + 3


async def timed(stack: Stack, language: str, code: str) -> tuple[Outcome, float]:
    started = time.monotonic()
    out = await run(stack, language, code, timeout=BOUND_S + 30, limits={"time_s": LIMIT_S})
    return out, time.monotonic() - started


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_fork_bombs_as_the_first_jobs(
    redis_server: RedisServer, tmp_path: Path, round_: int
) -> None:
    stack = start_stack(
        redis_server.url,
        tmp_path,
        CODE_VALIDATION="off",
        EXECUTION_TIMEOUT="5",
        WORKER_CONCURRENCY="2",
    )
    try:
        results = await asyncio.gather(
            timed(stack, "python", PY_FORK_BOMB), timed(stack, "c", C_FORK_BOMB)
        )
        for (out, elapsed), language in zip(results, ("python", "c"), strict=True):
            assert out.status == "timeout", f"{language}: {out.summary()}"
            assert elapsed < scaled(BOUND_S), f"{language}: complete after {elapsed:.1f}s"
        after = await run(stack, "python", 'print("after")\n')
        assert after.stdout == "after\n", after.summary()
    finally:
        stack.gateway.stop()
        stack.worker.stop()
