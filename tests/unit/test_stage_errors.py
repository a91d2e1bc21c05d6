"""services.worker.stage.Stage: what an `emit` raises comes out as itself, not as an exception
group of its task group (a real process, no sandbox: `sh` as the stage's program)."""

from __future__ import annotations

import os

import pytest

from lib.errors import ServiceUnavailable
from services.worker.stage import InputFeed, Stage, first_leaf


async def test_a_redis_refusal_while_relaying_output_is_raised_as_itself() -> None:
    status_read, status_write = os.pipe()
    stage = Stage(
        argv=["sh", "-c", "echo hi; sleep 5"],
        env={"PATH": "/usr/bin:/bin"},
        cwd="/",
        status_fd=status_write,
        status_read=status_read,
        wall_s=10,
        output_bytes=1024,
        cgroup=None,
        host_namespaces=("", ""),
    )

    async def refuse(stream: str, text: str) -> None:
        raise ServiceUnavailable("redis refused", reason="OOM")

    with pytest.raises(ServiceUnavailable, match="redis refused"):
        await stage.run(refuse, InputFeed(), InputFeed().kill)


def test_first_leaf_of_nested_groups() -> None:
    inner = ValueError("x")
    group = ExceptionGroup("outer", [ExceptionGroup("inner", [inner, KeyError()])])
    assert first_leaf(group) is inner
