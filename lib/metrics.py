"""Cluster-wide job metrics kept in Redis, and their Prometheus text exposition (format 0.0.4).

Workers record each finished job into three hashes (lib.keys): a counter by language and status,
and two histograms. A histogram hash keeps, per series, each bucket's own count (not cumulative)
under `{label}|{le}`, beside `{label}|sum` and `{label}|count`: one observation is then a single
HINCRBY whatever its bucket, and the cumulative `le` buckets Prometheus wants are summed when
rendering. Since the numbers live in Redis, every gateway serves the same ones.

Bucketing, parsing and rendering (the format itself is lib.prometheus) are pure; `record()` and
`collect()` are the thin Redis shell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lib import queue, registry
from lib.keys import Keys
from lib.prometheus import Histogram, bucket, family, gauge, histogram_samples, sample
from lib.protocol import Complete, Error, Status
from lib.store import Redis, translate_errors

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

SEP = "|"  # between a field's label and its part; languages and statuses never contain it
ERROR_STATUS = "error"  # the status label of a job whose terminal event was `error`
# Prometheus' default buckets, extended for long queues and long runs.
QUEUE_WAIT_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
EXEC_TIME_BOUNDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Kept out of the sums: one absurd value (a clock jump) would skew a sum forever.
MAX_OBSERVATION_S = 86_400.0
WAIT_HELP = "Seconds from enqueueing a job to a worker starting it."
EXEC_HELP = "execution_time of each complete message, by language (0 if the program never ran)."

RawHash = Mapping[bytes, bytes] | Mapping[str, str]


# -- the pure core -------------------------------------------------------------------------------


def clamp(seconds: float) -> float:
    """A duration fit to observe. A queue wait can come out negative when the gateway's and the
    worker's clocks differ; NaN would poison the sum."""
    if math.isnan(seconds):
        return 0.0
    return min(max(seconds, 0.0), MAX_OBSERVATION_S)


def series_field(label: str, part: str) -> str:
    return f"{label}{SEP}{part}"


@dataclass(frozen=True)
class Observation:
    """The fields one observed value increments in a histogram hash."""

    bucket_field: str  # HINCRBY 1
    sum_field: str  # HINCRBYFLOAT value
    count_field: str  # HINCRBY 1
    value: float


def observe(label: str, seconds: float, bounds: Sequence[float]) -> Observation:
    value = clamp(seconds)
    return Observation(
        series_field(label, bucket(value, bounds)),
        series_field(label, "sum"),
        series_field(label, "count"),
        value,
    )


@dataclass(frozen=True)
class FinishedJob:
    """What one finished job adds to the metrics."""

    language: str
    status: str
    queue_wait_s: float
    execution_s: float | None  # None: no `complete` message, so no execution time


def finished(language: str, queue_wait_s: float, final: Complete | Error | None) -> FinishedJob:
    """`final` is the job's terminal event; None when the worker failed before publishing one
    (the job then ended with an internal_error `complete` of no duration)."""
    if isinstance(final, Complete):
        return FinishedJob(language, final.status.value, queue_wait_s, final.execution_time)
    if isinstance(final, Error):
        return FinishedJob(language, ERROR_STATUS, queue_wait_s, None)
    return FinishedJob(language, Status.INTERNAL_ERROR.value, queue_wait_s, None)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_histograms(raw: RawHash) -> dict[str, Histogram]:
    """Series label → histogram, from a histogram hash. Fields that do not parse are skipped:
    a scrape must not fail on one bad field."""
    series: dict[str, Histogram] = {}
    for name, value in raw.items():
        label, _, part = _text(name).rpartition(SEP)
        hist = series.setdefault(label, Histogram())
        try:
            if part == "sum":
                hist.sum = float(value)
            elif part == "count":
                hist.count = int(value)
            else:
                hist.buckets[float(part)] = int(value)  # float("+Inf") is inf
        except ValueError:
            continue
    return series


def parse_counter(raw: RawHash) -> dict[tuple[str, str], int]:
    """(language, status) → count, from the jobs hash."""
    counts: dict[tuple[str, str], int] = {}
    for name, value in raw.items():
        language, _, status = _text(name).partition(SEP)
        try:
            counts[(language, status)] = int(value)
        except ValueError:
            continue
    return counts


@dataclass(frozen=True)
class Cluster:
    """Everything /metrics reads from Redis."""

    jobs: dict[tuple[str, str], int]
    queue_wait: Histogram
    execution: dict[str, Histogram]  # by language
    queue_length: int
    live_workers: int
    slots_free: int


def render(open_websockets: int, cluster: Cluster | None) -> str:
    """The whole exposition. `cluster` is None when Redis could not be read: then only this
    process's own gauges are shown, with cexec_redis_up 0."""
    lines = [
        *gauge("cexec_redis_up", "1 if this scrape read Redis, else 0.", int(cluster is not None)),
        *gauge(
            "cexec_open_websockets", "WebSockets open on this gateway process.", open_websockets
        ),
    ]
    if cluster is not None:
        lines += _cluster_lines(cluster)
    return "\n".join(lines) + "\n"


def _cluster_lines(c: Cluster) -> list[str]:
    jobs = [
        sample("cexec_jobs_total", {"language": lang, "status": status}, n)
        for (lang, status), n in sorted(c.jobs.items())
    ]
    wait = histogram_samples("cexec_queue_wait_seconds", {}, c.queue_wait, QUEUE_WAIT_BOUNDS)
    runs = [
        line
        for lang, hist in sorted(c.execution.items())
        for line in histogram_samples(
            "cexec_execution_seconds", {"language": lang}, hist, EXEC_TIME_BOUNDS
        )
    ]
    return [
        *family("cexec_jobs_total", "counter", "Jobs finished, by language and status.", jobs),
        *gauge("cexec_queue_length", "Jobs queued that no worker has claimed.", c.queue_length),
        *family("cexec_queue_wait_seconds", "histogram", WAIT_HELP, wait),
        *family("cexec_execution_seconds", "histogram", EXEC_HELP, runs),
        *gauge("cexec_live_workers", "Workers with a live heartbeat.", c.live_workers),
        *gauge("cexec_worker_slots_free", "Free job slots of the live workers.", c.slots_free),
    ]


# -- the Redis shell -----------------------------------------------------------------------------


async def record(redis: Redis, keys: Keys, job: FinishedJob) -> None:
    """Count one finished job: one pipelined round trip, applied as one transaction so that a
    histogram's buckets always add up to its count."""
    wait = observe("", job.queue_wait_s, QUEUE_WAIT_BOUNDS)
    async with translate_errors():
        pipe = redis.pipeline(transaction=True)
        pipe.hincrby(keys.stats_jobs, series_field(job.language, job.status), 1)
        _apply(pipe, keys.stats_queue_wait, wait)
        if job.execution_s is not None:
            ran = observe(job.language, job.execution_s, EXEC_TIME_BOUNDS)
            _apply(pipe, keys.stats_exec_time, ran)
        await pipe.execute()


def _apply(pipe: Pipeline, key: str, obs: Observation) -> None:
    pipe.hincrby(key, obs.bucket_field, 1)
    pipe.hincrbyfloat(key, obs.sum_field, obs.value)
    pipe.hincrby(key, obs.count_field, 1)


async def collect(redis: Redis, keys: Keys) -> Cluster:
    """Read the cluster's metrics; raises ServiceUnavailable when Redis cannot be reached. The
    three hashes are read in one transaction: a snapshot that no record() lands in the middle of,
    so the jobs counted always match the queue-wait histogram's count."""
    async with translate_errors():
        pipe = redis.pipeline(transaction=True)
        pipe.hgetall(keys.stats_jobs)
        pipe.hgetall(keys.stats_queue_wait)
        pipe.hgetall(keys.stats_exec_time)
        jobs, waits, runs = await pipe.execute()
    waiting = await queue.waiting(redis, keys)
    workers = await registry.live(redis, keys)
    return Cluster(
        jobs=parse_counter(jobs),
        queue_wait=parse_histograms(waits).get("", Histogram()),
        execution=parse_histograms(runs),
        queue_length=waiting,
        live_workers=len(workers),
        slots_free=registry.slots_free(workers),
    )
