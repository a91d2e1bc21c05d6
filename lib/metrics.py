"""Cluster-wide job metrics kept in Redis, and their Prometheus exposition (by prometheus_client).

Workers record each finished job into five hashes (lib.keys): counters of jobs by language and
status, of judged test cases by language and verdict, and of compilations by language; and two
histograms. A histogram hash keeps, per series, each bucket's own count (not cumulative) under
`{label}|{le}`, beside `{label}|sum` and `{label}|count`: one observation is then a single HINCRBY
whatever its bucket, and the cumulative `le` buckets Prometheus wants are summed when rendering.
Since the numbers live in Redis, every gateway serves the same ones.

/metrics is rendered per request by a fresh prometheus_client registry holding one
`ScrapeCollector` over this process's gauges and a `Cluster` snapshot read from Redis; the library
picks the format from the Accept header (text 0.0.4, or OpenMetrics) and does the escaping.

Bucketing, parsing and rendering are pure; `record()` and `collect()` are the thin Redis shell.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from lib import queue, registry
from lib.keys import Keys
from lib.prometheus import Histogram, bucket
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
TESTS_HELP = "Judge-mode test cases run, by language and verdict."
COMPILES_HELP = "Compilations run by workers, by language."

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
    tests: dict[str, int] = field(default_factory=dict)  # judge mode: verdict → test cases
    compiles: int = 0  # compilations the job ran


def finished(
    language: str,
    queue_wait_s: float,
    final: Complete | Error | None,
    tests: Mapping[str, int] | None = None,
    compiles: int = 0,
) -> FinishedJob:
    """`final` is the job's terminal event; None when the worker failed before publishing one
    (the job then ended with an internal_error `complete` of no duration). `tests` counts the
    judged test cases by verdict (`accepted`, `wrong_answer`, ...); `compiles` the compilations."""
    if isinstance(final, Complete):
        status, execution_s = final.status.value, final.execution_time
    elif isinstance(final, Error):
        status, execution_s = ERROR_STATUS, None
    else:
        status, execution_s = Status.INTERNAL_ERROR.value, None
    return FinishedJob(language, status, queue_wait_s, execution_s, dict(tests or {}), compiles)


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
    """(language, status) → count, from the jobs hash; (language, verdict) → count, from the
    tests hash."""
    counts: dict[tuple[str, str], int] = {}
    for name, value in raw.items():
        language, _, status = _text(name).partition(SEP)
        try:
            counts[(language, status)] = int(value)
        except ValueError:
            continue
    return counts


def parse_by_language(raw: RawHash) -> dict[str, int]:
    """language → count, from the compiles hash."""
    counts: dict[str, int] = {}
    for name, value in raw.items():
        try:
            counts[_text(name)] = int(value)
        except ValueError:
            continue
    return counts


@dataclass(frozen=True)
class Cluster:
    """Everything /metrics reads from Redis."""

    jobs: dict[tuple[str, str], int]  # (language, status) → jobs
    queue_wait: Histogram
    execution: dict[str, Histogram]  # by language
    queue_length: int
    live_workers: int
    slots_free: int
    tests: dict[tuple[str, str], int] = field(default_factory=dict)  # (language, verdict) → cases
    compiles: dict[str, int] = field(default_factory=dict)  # language → compilations


def _histogram(
    name: str, help_text: str, series: Mapping[str, Histogram], bounds: Sequence[float], label: str
) -> HistogramMetricFamily:
    """One histogram family; `label` names the series' label, "" for a single unlabelled one."""
    family = HistogramMetricFamily(name, help_text, labels=[label] if label else [])
    for value, hist in sorted(series.items()):
        family.add_metric([value] if label else [], hist.cumulative(bounds), hist.sum)
    return family


def _counter(
    name: str, help_text: str, labels: Sequence[str], counts: Iterable[tuple[Sequence[str], int]]
) -> CounterMetricFamily:
    """One counter family; `counts` pairs each series' label values with its count."""
    family = CounterMetricFamily(name, help_text, labels=labels)
    for values, n in sorted(counts, key=lambda row: tuple(row[0])):
        family.add_metric(values, n)
    return family


class ScrapeCollector(Collector):
    """What one scrape shows: this process's gauges, and the cluster's metrics when Redis could be
    read (`cluster` is None when not: then only the local gauges, with cexec_redis_up 0)."""

    def __init__(self, open_websockets: int, cluster: Cluster | None) -> None:
        self.open_websockets = open_websockets
        self.cluster = cluster

    def collect(self) -> Iterator[Metric]:
        c = self.cluster
        yield GaugeMetricFamily(
            "cexec_redis_up", "1 if this scrape read Redis, else 0.", value=int(c is not None)
        )
        yield GaugeMetricFamily(
            "cexec_open_websockets",
            "WebSockets open on this gateway process.",
            value=self.open_websockets,
        )
        if c is None:
            return
        yield _counter(
            "cexec_jobs_total",
            "Jobs finished, by language and status.",
            ["language", "status"],
            c.jobs.items(),
        )
        yield GaugeMetricFamily(
            "cexec_queue_length", "Jobs queued that no worker has claimed.", value=c.queue_length
        )
        yield _histogram(
            "cexec_queue_wait_seconds", WAIT_HELP, {"": c.queue_wait}, QUEUE_WAIT_BOUNDS, ""
        )
        yield _histogram(
            "cexec_execution_seconds", EXEC_HELP, c.execution, EXEC_TIME_BOUNDS, "language"
        )
        yield _counter("cexec_tests_total", TESTS_HELP, ["language", "verdict"], c.tests.items())
        yield _counter(
            "cexec_compiles_total",
            COMPILES_HELP,
            ["language"],
            (((lang,), n) for lang, n in c.compiles.items()),
        )
        yield GaugeMetricFamily(
            "cexec_live_workers", "Workers with a live heartbeat.", value=c.live_workers
        )
        yield GaugeMetricFamily(
            "cexec_worker_slots_free", "Free job slots of the live workers.", value=c.slots_free
        )


def exposition(
    accept: str | None, open_websockets: int, cluster: Cluster | None
) -> tuple[bytes, str]:
    """The body of a /metrics reply and its content type, in the format the Accept header asks
    for: OpenMetrics for `application/openmetrics-text`, else the text format 0.0.4. A registry
    of its own per scrape: no state is shared between scrapes (or with prometheus_client's
    global registry)."""
    encoder, content_type = choose_encoder(accept or "")
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(ScrapeCollector(open_websockets, cluster))
    return encoder(scrape), content_type


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
        for verdict, cases in sorted(job.tests.items()):
            if cases > 0:  # a counter never goes down
                pipe.hincrby(keys.stats_tests, series_field(job.language, verdict), cases)
        if job.compiles > 0:
            pipe.hincrby(keys.stats_compiles, job.language, job.compiles)
        await pipe.execute()


def _apply(pipe: Pipeline, key: str, obs: Observation) -> None:
    pipe.hincrby(key, obs.bucket_field, 1)
    pipe.hincrbyfloat(key, obs.sum_field, obs.value)
    pipe.hincrby(key, obs.count_field, 1)


async def collect(redis: Redis, keys: Keys) -> Cluster:
    """Read the cluster's metrics; raises ServiceUnavailable when Redis cannot be reached. The
    five hashes are read in one transaction: a snapshot that no record() lands in the middle of,
    so the jobs counted always match the queue-wait histogram's count."""
    async with translate_errors():
        pipe = redis.pipeline(transaction=True)
        pipe.hgetall(keys.stats_jobs)
        pipe.hgetall(keys.stats_queue_wait)
        pipe.hgetall(keys.stats_exec_time)
        pipe.hgetall(keys.stats_tests)
        pipe.hgetall(keys.stats_compiles)
        jobs, waits, runs, tests, compiles = await pipe.execute()
    waiting = await queue.waiting(redis, keys)
    workers = await registry.live(redis, keys)
    return Cluster(
        jobs=parse_counter(jobs),
        queue_wait=parse_histograms(waits).get("", Histogram()),
        execution=parse_histograms(runs),
        queue_length=waiting,
        live_workers=len(workers),
        slots_free=registry.slots_free(workers),
        tests=parse_counter(tests),
        compiles=parse_by_language(compiles),
    )
