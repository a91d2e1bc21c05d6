"""lib.metrics and lib.prometheus: bucketing, the Redis hash layout, and the text exposition."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib import metrics, registry
from lib.metrics import EXEC_TIME_BOUNDS, QUEUE_WAIT_BOUNDS, Cluster
from lib.prometheus import INF, Histogram, bucket, family, le, sample
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


# -- rendering ---------------------------------------------------------------------------------


def test_sample_and_label_escaping() -> None:
    assert sample("m", {}, 3) == "m 3"
    assert sample("m", {"a": 'x"y\\z\nw'}, 0.5) == 'm{a="x\\"y\\\\z\\nw"} 0.5'
    assert sample("m", {}, math.inf) == "m +Inf"


def test_family_escapes_help() -> None:
    assert family("m", "gauge", "a\\b\nc", []) == ["# HELP m a\\\\b\\nc", "# TYPE m gauge"]


def _cluster() -> Cluster:
    return Cluster(
        jobs={("python", "ok"): 3, ("python", "runtime_error"): 1, ("c", "error"): 2},
        queue_wait=Histogram({0.005: 3, 0.5: 1}, 0.41, 4),
        execution={"python": Histogram({0.05: 3, 1.0: 1}, 0.9, 4)},
        queue_length=5,
        live_workers=2,
        slots_free=7,
    )


def _value(text: str, line_start: str) -> float:
    found = [ln for ln in text.splitlines() if ln.startswith(line_start + " ")]
    assert len(found) == 1, (line_start, text)
    return float(found[0].rsplit(" ", 1)[1])


def test_render_with_redis() -> None:
    text = metrics.render(4, _cluster())
    assert text.endswith("\n")
    assert _value(text, "cexec_redis_up") == 1
    assert _value(text, "cexec_open_websockets") == 4
    assert _value(text, 'cexec_jobs_total{language="python",status="ok"}') == 3
    assert _value(text, 'cexec_jobs_total{language="c",status="error"}') == 2
    assert _value(text, "cexec_queue_length") == 5
    assert _value(text, "cexec_live_workers") == 2
    assert _value(text, "cexec_worker_slots_free") == 7
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="0.005"}') == 3
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="0.25"}') == 3
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="0.5"}') == 4
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="+Inf"}') == 4
    assert _value(text, "cexec_queue_wait_seconds_sum") == 0.41
    assert _value(text, "cexec_queue_wait_seconds_count") == 4
    assert _value(text, 'cexec_execution_seconds_bucket{language="python",le="0.05"}') == 3
    assert _value(text, 'cexec_execution_seconds_bucket{language="python",le="+Inf"}') == 4
    assert _value(text, 'cexec_execution_seconds_count{language="python"}') == 4


def test_render_declares_each_family_once_before_its_samples() -> None:
    text = metrics.render(0, _cluster())
    kinds = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    assert kinds == {
        "cexec_redis_up": "gauge",
        "cexec_open_websockets": "gauge",
        "cexec_jobs_total": "counter",
        "cexec_queue_length": "gauge",
        "cexec_queue_wait_seconds": "histogram",
        "cexec_execution_seconds": "histogram",
        "cexec_live_workers": "gauge",
        "cexec_worker_slots_free": "gauge",
    }
    seen: list[str] = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            seen.append(line.split()[2])
        elif not line.startswith("#"):
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            family_ = seen[-1]
            assert name in {family_, f"{family_}_bucket", f"{family_}_sum", f"{family_}_count"}
    assert len(seen) == len(set(seen))


def test_render_without_redis_has_only_the_local_gauges() -> None:
    text = metrics.render(2, None)
    assert _value(text, "cexec_redis_up") == 0
    assert _value(text, "cexec_open_websockets") == 2
    assert "cexec_jobs_total" not in text and "cexec_live_workers" not in text


def test_render_before_any_job() -> None:
    empty = Cluster({}, Histogram(), {}, 0, 0, 0)
    text = metrics.render(0, empty)
    assert "# TYPE cexec_jobs_total counter" in text
    assert _value(text, 'cexec_queue_wait_seconds_bucket{le="+Inf"}') == 0
    assert _value(text, "cexec_queue_wait_seconds_count") == 0
    assert "cexec_execution_seconds_bucket" not in text


# -- heartbeats --------------------------------------------------------------------------------


def test_languages_and_free_slots_of_live_workers() -> None:
    workers = {
        "w1": {"languages": {"python": "3.11.2", "c": "12.2"}, "free": 2, "running": 0},
        "w2": {"languages": {"python": "3.12.1"}, "free": 0, "running": 2},
        "w3": {"free": 1},
    }
    assert registry.languages(workers) == {"c": ["12.2"], "python": ["3.11.2", "3.12.1"]}
    assert registry.slots_free(workers) == 3
