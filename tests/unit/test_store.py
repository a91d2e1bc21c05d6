"""lib.store: every redis-py exception is translated into ours, once (pure: no Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect

import pytest
from redis import exceptions as rx

from lib.errors import ServiceUnavailable, StoreFault
from lib.store import FOREIGN_ERRORS, translate, translate_errors


def _redis_exception_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(rx, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == rx.__name__
    ]


@pytest.mark.parametrize("cls", _redis_exception_classes(), ids=lambda c: c.__name__)
def test_every_redis_exception_class_is_mapped(cls: type[BaseException]) -> None:
    """A redis-py upgrade that adds an exception class fails here until it is mapped."""
    assert cls in FOREIGN_ERRORS, f"redis.exceptions.{cls.__name__} is not in FOREIGN_ERRORS"


def test_the_walk_sees_the_classes_it_must() -> None:
    names = {c.__name__ for c in _redis_exception_classes()}
    assert {"ResponseError", "OutOfMemoryError", "ReadOnlyError", "BusyLoadingError"} <= names


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (
            rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
            "busy",
            "OutOfMemoryError",
        ),
        (rx.ReadOnlyError("You can't write against a read only replica."), "busy", "ReadOnlyError"),
        (rx.BusyLoadingError("Redis is loading the dataset in memory"), "busy", ""),
        (rx.ResponseError("BUSY Redis is busy running a script."), "busy", "BUSY"),
        (rx.ResponseError("MISCONF Redis is configured to save RDB snapshots"), "busy", "MISCONF"),
        (rx.ConnectionError("Connection refused"), "busy", "ConnectionError"),
        (rx.TimeoutError("Timeout reading from socket"), "busy", "TimeoutError"),
        (ConnectionResetError(104, "reset"), "busy", "ConnectionResetError"),
        (
            rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "fault",
            "WRONGTYPE",
        ),
        (rx.NoScriptError("No matching script."), "fault", ""),
        (rx.DataError("Invalid input of type: 'dict'"), "fault", "DataError"),
        (rx.AuthenticationError("invalid password"), "fault", ""),
    ],
)
def test_translation(exc: BaseException, kind: str, reason: str) -> None:
    ours = translate(exc)
    assert isinstance(ours, ServiceUnavailable)
    assert isinstance(ours, StoreFault) is (kind == "fault")
    if reason:
        assert ours.reason == reason


async def test_translate_errors_raises_ours_from_theirs() -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        async with translate_errors():
            raise rx.OutOfMemoryError("command not allowed")
    assert isinstance(caught.value.__cause__, rx.OutOfMemoryError)
    assert "OutOfMemoryError" in str(caught.value)


async def test_a_cancelled_task_gets_its_cancellation_back() -> None:
    """redis-py may turn a cancellation into a TimeoutError; a task being cancelled must not see
    it as ServiceUnavailable (a retry loop would then keep it alive forever)."""
    started = asyncio.Event()

    async def command_cancelled_as_timeout() -> None:
        async with translate_errors():
            started.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                raise rx.TimeoutError("Timeout reading from socket") from None

    async def retry_loop() -> None:
        while True:
            with contextlib.suppress(ServiceUnavailable):
                await command_cancelled_as_timeout()

    task = asyncio.create_task(retry_loop())
    await started.wait()
    task.cancel()
    await asyncio.wait([task], timeout=2)
    ended = task.done()
    if not ended:  # the bug: the loop swallowed its own cancellation; stop it for good
        task.get_coro().close()  # type: ignore[union-attr]
    assert ended and task.cancelled()
