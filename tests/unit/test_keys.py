"""lib.keys: every Redis key name, spelled once."""

from __future__ import annotations

from lib.keys import FIELD, WORKER_GROUP, Keys

JOB = "0123456789abcdef0123456789abcdef"


def test_default_prefix() -> None:
    keys = Keys()
    assert keys.queue == "cexec:queue"
    assert keys.events(JOB) == f"cexec:job:{JOB}:events"
    assert keys.input(JOB) == f"cexec:job:{JOB}:input"
    assert keys.token_use("j1") == "cexec:jti:j1"
    assert keys.worker("w1") == "cexec:worker:w1"
    assert keys.worker_pattern == "cexec:worker:*"


def test_custom_prefix() -> None:
    keys = Keys("t1234")
    assert keys.queue == "t1234:queue"
    assert keys.events("a") == "t1234:job:a:events"
    assert keys.input("a") == "t1234:job:a:input"
    assert keys.token_use("x") == "t1234:jti:x"
    assert keys.worker_pattern == "t1234:worker:*"


def test_events_and_input_streams_differ_per_job() -> None:
    keys = Keys()
    assert keys.events("a") != keys.input("a")
    assert keys.events("a") != keys.events("b")


def test_constants() -> None:
    assert WORKER_GROUP == "workers"
    assert FIELD == "m"


def test_stats_keys() -> None:
    keys = Keys("t1")
    assert (keys.stats_jobs, keys.stats_queue_wait, keys.stats_exec_time) == (
        "t1:stats:jobs",
        "t1:stats:queue_wait",
        "t1:stats:exec_time",
    )
