"""A worker that does not serve a language answers its jobs with a clear error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client import run
from tests.conftest import RedisServer, Stack, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def python_only(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    stack = start_stack(
        redis_server.url, tmp_path_factory.mktemp("py"), LANGUAGES="python", WORKER_CONCURRENCY="1"
    )
    yield stack
    stack.gateway.stop()
    stack.worker.stop()


async def test_missing_toolchain_is_a_clear_error(python_only: Stack) -> None:
    out = await run(python_only, "c", "int main(void) { return 0; }\n")
    assert out.error["code"] == "language_unavailable"
    assert "c toolchain" in out.error["message"]
    assert out.close_code == 1011
    assert "language c: disabled" in python_only.worker.output()


async def test_served_language_still_runs(python_only: Stack) -> None:
    out = await run(python_only, "python", "print(6 * 7)\n")
    assert out.stdout == "42\n"
