"""lib.metrics and lib.prometheus: bucketing, the Redis hash layout, and the exposition (by
prometheus_client: text format 0.0.4 or OpenMetrics, chosen by the Accept header)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families

from lib import metrics, registry
from lib.keys import Keys
from lib.metrics import EXEC_TIME_BOUNDS, QUEUE_WAIT_BOUNDS, Cluster
from lib.prometheus import INF, Histogram, bucket, le
from lib.protocol import Complete, Error, ErrorCode, Status

BOUNDS = (0.1, 1.0, 10.0)


# -- bucketing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "0.1"), (0.1, "0.1"), (0.100001, "1"), (1.0, "1"), (9.99, "10"), (10.0, "10")],
)
def test_bucket_is_the_smallest_bound_not_below_the_value(value: float, expected: str) -> None:
    assert bucket(value, BOUNDS) == expected


def test_bucket_above_every_bound_is_inf() -> None:
    assert bucket(10.5, BOUNDS) == INF
    assert bucket(math.inf, BOUNDS) == INF


def test_le_is_written_like_prometheus() -> None:
    assert [le(b) for b in (0.005, 1.0, 2.5, 60.0, math.inf)] == ["0.005", "1", "2.5", "60", INF]


def test_bounds_are_sorted_and_distinct() -> None:
    for bounds in (QUEUE_WAIT_BOUNDS, EXEC_TIME_BOUNDS):
        assert list(bounds) == sorted(set(bounds))


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(-3.0, 0.0), (math.nan, 0.0), (0.25, 0.25), (1e12, metrics.MAX_OBSERVATION_S)],
)
def test_clamp(seconds: float, expected: float) -> None:
    assert metrics.clamp(seconds) == expected


def test_observe_names_the_fields_of_one_series() -> None:
    obs = metrics.observe("python", 0.3, BOUNDS)
    assert (obs.bucket_field, obs.sum_field, obs.count_field) == (
        "python|1",
        "python|sum",
        "python|count",
    )
    assert obs.value == 0.3
    assert metrics.observe("", -1.0, BOUNDS).bucket_field == "|0.1"  # clock skew: 0 s


# -- what a finished job counts as -------------------------------------------------------------


def test_finished_complete() -> None:
    done = Complete(exit_code=1, execution_time=0.42, status=Status.RUNTIME_ERROR)
    job = metrics.finished("python", 0.01, done)
    assert (job.language, job.status, job.queue_wait_s, job.execution_s) == (
        "python",
        "runtime_error",
        0.01,
        0.42,
    )


def test_finished_error_has_the_error_label_and_no_execution_time() -> None:
    error = Error(code=ErrorCode.LANGUAGE_UNAVAILABLE, message="no rustc")
    job = metrics.finished("rust", 0.0, error)
    assert (job.status, job.execution_s) == ("error", None)


def test_finished_without_a_terminal_event_is_an_internal_error() -> None:
    job = metrics.finished("c", 0.0, None)
    assert (job.status, job.execution_s) == ("internal_error", None)
    assert (job.tests, job.compiles) == ({}, 0)


def test_finished_carries_the_verdicts_and_compiles_of_a_judged_job() -> None:
    done = Complete(exit_code=0, execution_time=0.2, status=Status.OK)
    verdicts = {"accepted": 3, "wrong_answer": 1}
    job = metrics.finished("c", 0.0, done, tests=verdicts, compiles=1)
    assert (job.tests, job.compiles) == ({"accepted": 3, "wrong_answer": 1}, 1)
    verdicts["accepted"] = 99
    assert job.tests["accepted"] == 3  # a copy: the caller's dict may change afterwards


# -- recording: the increments of one pipeline -------------------------------------------------


class FakePipeline:
    def __init__(self, calls: list[tuple[Any, ...]]) -> None:
        self.calls = calls

    def hincrby(self, key: str, name: str, amount: int) -> None:
        self.calls.append(("hincrby", key, name, amount))

    def hincrbyfloat(self, key: str, name: str, amount: float) -> None:
        self.calls.append(("hincrbyfloat", key, name, amount))

    async def execute(self) -> list[Any]:
        self.calls.append(("execute",))
        return []


class FakeRedis:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.transactions: list[bool] = []

    def pipeline(self, transaction: bool) -> FakePipeline:
        self.transactions.append(transaction)
        return FakePipeline(self.calls)


async def test_record_counts_verdicts_and_compiles_in_the_same_transaction() -> None:
    keys = Keys("u")
    redis = FakeRedis()
    done = Complete(exit_code=0, execution_time=0.2, status=Status.OK)
    tests = {"accepted": 2, "timeout": 1, "runtime_error": 0}
    job = metrics.finished("c", 0.001, done, tests=tests, compiles=1)
    await metrics.record(redis, keys, job)  # type: ignore[arg-type]
    assert redis.transactions == [True]
    assert redis.calls[-1] == ("execute",)
    assert ("hincrby", keys.stats_jobs, "c|ok", 1) in redis.calls
    assert ("hincrby", keys.stats_tests, "c|accepted", 2) in redis.calls
    assert ("hincrby", keys.stats_tests, "c|timeout", 1) in redis.calls
    assert not any(c[1:3] == (keys.stats_tests, "c|runtime_error") for c in redis.calls)
    assert ("hincrby", keys.stats_compiles, "c", 1) in redis.calls


async def test_record_of_a_plain_job_touches_neither_tests_nor_compiles() -> None:
    keys = Keys("u")
    redis = FakeRedis()
    await metrics.record(redis, keys, metrics.finished("python", 0.0, None))  # type: ignore[arg-type]
    touched = {c[1] for c in redis.calls if c[0] != "execute"}
    assert touched == {keys.stats_jobs, keys.stats_queue_wait}


# -- parsing the hashes ------------------------------------------------------------------------


def test_parse_histograms_groups_by_series() -> None:
    raw = {
        b"python|0.1": b"2",
        b"python|10": b"1",
        b"python|+Inf": b"1",
        b"python|sum": b"20.5",
        b"python|count": b"4",
        b"c|1": b"1",
        b"c|sum": b"0.5",
        b"c|count": b"1",
    }
    series = metrics.parse_histograms(raw)
    assert series["python"] == Histogram({0.1: 2, 10.0: 1, math.inf: 1}, 20.5, 4)
    assert series["c"] == Histogram({1.0: 1}, 0.5, 1)


def test_parse_skips_fields_that_do_not_parse() -> None:
    series = metrics.parse_histograms({"x|abc": "1", "x|count": "nope", "x|sum": "1.5"})
    assert series["x"] == Histogram({}, 1.5, 0)
    assert metrics.parse_counter({"python|ok": "3", "c|ok": "x"}) == {("python", "ok"): 3}
    assert metrics.parse_by_language({b"c": b"2", b"go": b"?"}) == {"c": 2}


def test_parse_the_tests_hash() -> None:
    raw = {b"c|accepted": b"5", b"c|wrong_answer": b"2", b"python|timeout": b"1"}
    assert metrics.parse_counter(raw) == {
        ("c", "accepted"): 5,
        ("c", "wrong_answer"): 2,
        ("python", "timeout"): 1,
    }


def test_cumulative_buckets() -> None:
    hist = Histogram({0.1: 2, 10.0: 1, math.inf: 1}, 20.5, 4)
    assert hist.cumulative(BOUNDS) == [("0.1", 2), ("1", 2), ("10", 3), (INF, 4)]


def test_a_stored_bucket_no_longer_among_the_bounds_counts_in_the_next_one_up() -> None:
    assert Histogram({0.5: 1}, 0.5, 1).cumulative(BOUNDS) == [
        ("0.1", 0),
        ("1", 1),
        ("10", 1),
        (INF, 1),
    ]


@given(st.lists(st.floats(min_value=-1, max_value=100, allow_nan=False), max_size=50))
def test_observations_make_a_valid_histogram(values: list[float]) -> None:
    """Whatever is observed, the rendered buckets are cumulative and end at the count."""
    raw: dict[str, float] = {}
    for value in values:
        obs = metrics.observe("", value, BOUNDS)
        for name, amount in (
            (obs.bucket_field, 1),
            (obs.sum_field, obs.value),
            (obs.count_field, 1),
        ):
            raw[name] = raw.get(name, 0) + amount
    stored = {k: str(v) if k.endswith("sum") else str(int(v)) for k, v in raw.items()}
    hist = metrics.parse_histograms(stored).get("", Histogram())
    counts = [n for _, n in hist.cumulative(BOUNDS)]
    assert counts == sorted(counts)
    assert counts[-1] == hist.count == len(values)
    assert counts[0] == sum(1 for v in values if v <= 0.1)


# -- the exposition ----------------------------------------------------------------------------

TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text"
# What Prometheus itself sends.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
    "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def _cluster() -> Cluster:
    return Cluster(
        jobs={("python", "ok"): 3, ("python", "runtime_error"): 1, ("c", "error"): 2},
        queue_wait=Histogram({0.005: 3, 0.5: 1}, 0.41, 4),
        execution={"python": Histogram({0.05: 3, 1.0: 1}, 0.9, 4)},
        queue_length=5,
        live_workers=2,
        slots_free=7,
        tests={("c", "accepted"): 5, ("c", "wrong_answer"): 2, ("python", "timeout"): 1},
        compiles={"c": 3},
    )


def _text(open_websockets: int, cluster: Cluster | None, accept: str | None = None) -> str:
    body, content_type = metrics.exposition(accept, open_websockets, cluster)
    assert content_type == TEXT_TYPE
    return body.decode()


def _families(text: str, openmetrics: bool = False) -> dict[str, Metric]:
    """Name → family, by prometheus_client's own parser of the format (the OpenMetrics one is
    strict: a bad family, label, bucket or a missing `# EOF` raises)."""
    if openmetrics:
        return {f.name: f for f in openmetrics_parser.text_string_to_metric_families(text)}
    return {f.name: f for f in text_string_to_metric_families(text)}


def _values(families: dict[str, Metric]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value, over every family."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }


def _value(text: str, line_start: str) -> float:
    found = [ln for ln in text.splitlines() if ln.startswith(line_start + " ")]
    assert len(found) == 1, (line_start, text)
    return float(found[0].rsplit(" ", 1)[1])


@pytest.mark.parametrize("accept", [None, "", "*/*", "text/plain", "application/json"])
def test_the_text_format_is_the_default(accept: str | None) -> None:
    _text(0, _cluster(), accept)


def test_the_text_format_parses_with_prometheus_client() -> None:
    families = _families(_text(4, _cluster()))
    assert {name: f.type for name, f in families.items()} == {
        "cexec_redis_up": "gauge",
        "cexec_open_websockets": "gauge",
        "cexec_jobs": "counter",
        "cexec_queue_length": "gauge",
        "cexec_queue_wait_seconds": "histogram",
        "cexec_execution_seconds": "histogram",
        "cexec_tests": "counter",
        "cexec_compiles": "counter",
        "cexec_live_workers": "gauge",
        "cexec_worker_slots_free": "gauge",
    }
    assert all(f.documentation for f in families.values())
    values = _values(families)
    assert values[("cexec_redis_up", ())] == 1
    assert values[("cexec_open_websockets", ())] == 4
    assert values[("cexec_jobs_total", (("language", "python"), ("status", "ok")))] == 3
    assert values[("cexec_jobs_total", (("language", "c"), ("status", "error")))] == 2
    assert values[("cexec_queue_length", ())] == 5
    assert values[("cexec_live_workers", ())] == 2
    assert values[("cexec_worker_slots_free", ())] == 7
    assert values[("cexec_queue_wait_seconds_sum", ())] == 0.41
    assert values[("cexec_execution_seconds_count", (("language", "python"),))] == 4


def test_the_text_format_keeps_the_names_labels_and_bucket_bounds() -> None:
    """The sample lines dashboards and the e2e tests match on, byte for byte."""
    text = _text(4, _cluster())
    assert _value(text, 'cexec_jobs_total{language="python",status="ok"}') == 3
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="0.005"}') == 3
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="1"}') == 4  # not le="1.0"
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="+Inf"}') == 4
    assert _value(text, "cexec_queue_wait_seconds_count") == 4
    assert _value(text, 'cexec_execution_seconds_bucket{language="python",le="0.05"}') == 3
    assert _value(text, 'cexec_execution_seconds_bucket{language="python",le="+Inf"}') == 4
    assert _value(text, 'cexec_tests_total{language="c",verdict="accepted"}') == 5
    assert _value(text, 'cexec_compiles_total{language="c"}') == 3
    assert "_created" not in text


def test_each_family_is_declared_once_before_its_samples() -> None:
    text = _text(0, _cluster())
    seen: list[str] = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            seen.append(line.split()[2])
        elif not line.startswith("#"):
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            family_ = seen[-1]
            assert name in {family_, f"{family_}_bucket", f"{family_}_sum", f"{family_}_count"}
    assert len(seen) == len(set(seen))
    assert "cexec_tests_total" in seen and "cexec_compiles_total" in seen


def _buckets(
    families: dict[str, Metric], name: str, labels: dict[str, str]
) -> list[tuple[str, float]]:
    return [
        (s.labels["le"], s.value)
        for s in families[name].samples
        if s.name == f"{name}_bucket" and {k: v for k, v in s.labels.items() if k != "le"} == labels
    ]


def test_histogram_buckets_are_cumulative() -> None:
    families = _families(_text(0, _cluster()))
    wait = _buckets(families, "cexec_queue_wait_seconds", {})
    assert [at for at, _ in wait] == [le(b) for b in QUEUE_WAIT_BOUNDS] + [INF]
    assert dict(wait) == {
        **{le(b): 3.0 for b in QUEUE_WAIT_BOUNDS if b < 0.5},
        **{le(b): 4.0 for b in QUEUE_WAIT_BOUNDS if b >= 0.5},
        INF: 4.0,
    }
    runs = dict(_buckets(families, "cexec_execution_seconds", {"language": "python"}))
    assert (runs["0.025"], runs["0.05"], runs["0.5"], runs["1"], runs[INF]) == (0, 3, 3, 4, 4)


@given(st.lists(st.floats(min_value=-1, max_value=100, allow_nan=False), max_size=30))
def test_observations_render_as_a_valid_histogram(values: list[float]) -> None:
    """From the stored per-bucket counts to the exposed cumulative ones, through both formats."""
    hist = Histogram()
    for value in values:
        obs = metrics.observe("", value, EXEC_TIME_BOUNDS)
        at = float(obs.bucket_field.rpartition("|")[2])
        hist.buckets[at] = hist.buckets.get(at, 0) + 1
        hist.sum += obs.value
        hist.count += 1
    cluster = Cluster({}, Histogram(), {"go": hist}, 0, 0, 0)
    for accept in (None, OPENMETRICS):
        body, _ = metrics.exposition(accept, 0, cluster)
        families = _families(body.decode(), openmetrics=accept is not None)
        counts = [n for _, n in _buckets(families, "cexec_execution_seconds", {"language": "go"})]
        assert counts == sorted(counts)
        assert counts[-1] == len(values)
        assert counts[0] == sum(1 for v in values if v <= EXEC_TIME_BOUNDS[0])


@pytest.mark.parametrize(
    "accept", [OPENMETRICS, f"{OPENMETRICS}; version=1.0.0", PROMETHEUS_ACCEPT]
)
def test_openmetrics_when_the_accept_header_asks_for_it(accept: str) -> None:
    body, content_type = metrics.exposition(accept, 3, _cluster())
    assert content_type.startswith(f"{OPENMETRICS}; version=1.0.0")
    text = body.decode()
    assert text.endswith("# EOF\n")
    families = _families(text, openmetrics=True)
    assert families["cexec_tests"].type == "counter"
    values = _values(families)
    assert values[("cexec_open_websockets", ())] == 3
    assert values[("cexec_tests_total", (("language", "c"), ("verdict", "wrong_answer")))] == 2
    assert values[("cexec_compiles_total", (("language", "c"),))] == 3
    assert values[("cexec_queue_wait_seconds_bucket", (("le", "+Inf"),))] == 4


@pytest.mark.parametrize("accept", [None, OPENMETRICS])
def test_label_values_are_escaped(accept: str | None) -> None:
    odd = 'py"th\\on\nnext'
    cluster = Cluster(
        {(odd, "ok"): 1},
        Histogram(),
        {odd: Histogram({1.0: 1}, 1.0, 1)},
        0,
        0,
        0,
        tests={(odd, 'wrong "answer"'): 2},
        compiles={odd: 1},
    )
    body, _ = metrics.exposition(accept, 0, cluster)
    text = body.decode()
    assert 'language="py\\"th\\\\on\\nnext"' in text
    assert "\nnext" not in text  # no raw newline inside a label
    values = _values(_families(text, openmetrics=accept is not None))
    assert values[("cexec_jobs_total", (("language", odd), ("status", "ok")))] == 1
    assert values[("cexec_tests_total", (("language", odd), ("verdict", 'wrong "answer"')))] == 2
    assert values[("cexec_compiles_total", (("language", odd),))] == 1
    assert values[("cexec_execution_seconds_count", (("language", odd),))] == 1


@pytest.mark.parametrize("accept", [None, OPENMETRICS])
def test_without_redis_only_the_local_gauges(accept: str | None) -> None:
    body, _ = metrics.exposition(accept, 2, None)
    text = body.decode()
    assert _value(text, "cexec_redis_up") == 0
    assert _value(text, "cexec_open_websockets") == 2
    for name in ("cexec_jobs_total", "cexec_live_workers", "cexec_tests", "cexec_compiles"):
        assert name not in text


def test_before_any_job() -> None:
    text = _text(0, Cluster({}, Histogram(), {}, 0, 0, 0))
    assert "# TYPE cexec_jobs_total counter" in text
    assert "# TYPE cexec_tests_total counter" in text
    assert "# TYPE cexec_compiles_total counter" in text
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="+Inf"}') == 0
    assert _value(text, "cexec_queue_wait_seconds_count") == 0
    assert "cexec_execution_seconds_bucket" not in text
    _families(text)  # still parses


def test_scrapes_share_no_state() -> None:
    first, _ = metrics.exposition(None, 1, _cluster())
    metrics.exposition(None, 9, None)
    again, _ = metrics.exposition(None, 1, _cluster())
    assert first == again


# -- heartbeats --------------------------------------------------------------------------------


def test_languages_and_free_slots_of_live_workers() -> None:
    workers = {
        "w1": {"languages": {"python": "3.11.2", "c": "12.2"}, "free": 2, "running": 0},
        "w2": {"languages": {"python": "3.12.1"}, "free": 0, "running": 2},
        "w3": {"free": 1},
    }
    assert registry.languages(workers) == {"c": ["12.2"], "python": ["3.11.2", "3.12.1"]}
    assert registry.slots_free(workers) == 3
