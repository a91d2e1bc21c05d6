"""lib.jobs.build_spec as a plan: its stages and every limit of each, judge mode's test cases,
the compare mode, and the bounds admission reads (pure; request rules are in test_jobs.py)."""

from __future__ import annotations

import pytest

from lib.codes import ErrorCode
from lib.config import Settings
from lib.errors import InvalidRequest, MessageTooLarge, RequestError
from lib.jobs import COMPILE, COMPILE_TASKS, RUN, JobSpec, StageLimits, StagePlan, build_spec
from lib.protocol import Execute, JobRequest

JOB = "0123456789abcdef0123456789abcdef"


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "execution_timeout": 5.0,
        "compilation_timeout": 20.0,
        "max_memory_mb": 300,
        "compile_memory_mb": 700,
        "max_output_kb": 512,
        "max_processes": 40,
        "max_open_files": 90,
        "max_file_size_mb": 12,
        "max_args": 3,
        "max_tests": 4,
        "max_tests_kb": 1,
        "resume_grace_s": 45.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


SETTINGS = make_settings()

RUN_DEFAULTS = StageLimits(
    wall_s=5.0,
    cpu_s=5.0,
    memory_mb=300,
    processes=40,
    open_files=90,
    file_size_mb=12,
    output_kb=512,
)


def plan(settings: Settings = SETTINGS, **fields: object) -> JobSpec:
    request: dict[str, object] = {"language": "python"}
    if "files" not in fields:
        request["code"] = "x"
    request.update(fields)
    return build_spec(JobRequest.model_validate(request), settings, job_id=JOB, key_id="key-1")


def cases(n: int, **fields: object) -> list[dict[str, object]]:
    return [{"stdin": f"{i}", "expected_output": f"{2 * i}", **fields} for i in range(n)]


def refused(
    code: ErrorCode,
    cls: type[RequestError] = InvalidRequest,
    settings: Settings = SETTINGS,
    **f: object,
) -> RequestError:
    with pytest.raises(cls) as info:
        plan(settings, **f)
    assert info.value.code == code
    return info.value


# --- stages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_interpreted_language_has_one_run_stage(language: str) -> None:
    spec = plan(language=language)
    assert spec.stages == [StagePlan(name=RUN, limits=RUN_DEFAULTS)]
    assert spec.stage(COMPILE) is None
    assert spec.stage(RUN) == spec.stages[0]


@pytest.mark.parametrize(("language", "main"), [("c", "m.c"), ("cpp", "m.cpp"), ("rust", "m.rs")])
def test_compiled_language_compiles_then_runs(language: str, main: str) -> None:
    spec = plan(language=language, filename=main)
    assert [s.name for s in spec.stages] == [COMPILE, RUN]
    assert spec.stage(COMPILE) is spec.stages[0]
    assert spec.stage(RUN) is spec.stages[1]


def test_compile_limits_come_from_the_settings_not_the_request() -> None:
    spec = plan(language="c", limits={"time_s": 1.5, "memory_mb": 32, "output_kb": 8})
    compile_ = spec.stage(COMPILE)
    assert compile_ is not None
    assert compile_.limits == StageLimits(
        wall_s=20.0,
        cpu_s=20.0,
        memory_mb=700,
        processes=COMPILE_TASKS,
        open_files=90,
        file_size_mb=12,
        output_kb=8,  # the compiler's output counts against the job's output limit
    )
    assert COMPILE_TASKS == 128
    other = plan(make_settings(compilation_timeout=2.5, compile_memory_mb=99), language="c")
    assert other.stage(COMPILE).limits.wall_s == 2.5  # type: ignore[union-attr]
    assert other.stage(COMPILE).limits.memory_mb == 99  # type: ignore[union-attr]


def test_run_limits_default_to_the_settings() -> None:
    assert plan().stage(RUN).limits == RUN_DEFAULTS  # type: ignore[union-attr]


def test_run_limits_come_from_the_request() -> None:
    spec = plan(language="c", limits={"time_s": 1.5, "memory_mb": 32, "output_kb": 8})
    assert spec.stage(RUN).limits == StageLimits(  # type: ignore[union-attr]
        wall_s=1.5,
        cpu_s=1.5,
        memory_mb=32,
        processes=40,
        open_files=90,
        file_size_mb=12,
        output_kb=8,
    )


@pytest.mark.parametrize(
    "limits", [{"time_s": 5.01}, {"memory_mb": 301}, {"output_kb": 513}, {"memory_mb": 8}]
)
def test_run_limits_are_capped_by_the_settings(limits: dict[str, float]) -> None:
    refused(ErrorCode.LIMIT_EXCEEDED, limits=limits)


def test_no_tests_means_no_judging() -> None:
    spec = plan()
    assert spec.tests == []
    assert spec.judged is False
    assert spec.stop_on_failure is False


# --- test cases ---------------------------------------------------------------------------------


def test_tests_are_planned_in_order_with_their_input_and_output() -> None:
    spec = plan(tests=cases(3), stop_on_failure=True)
    assert spec.judged is True
    assert [(t.stdin, t.expected_output) for t in spec.tests] == [
        ("0", "0"),
        ("1", "2"),
        ("2", "4"),
    ]
    assert spec.stop_on_failure is True


def test_stdin_defaults_to_nothing() -> None:
    assert plan(tests=[{"expected_output": "1"}]).tests[0].stdin == ""


def test_test_limits_default_to_the_jobs() -> None:
    spec = plan(
        language="c", limits={"time_s": 2, "memory_mb": 64, "output_kb": 16}, tests=cases(2)
    )
    run = spec.stage(RUN)
    assert run is not None
    assert [t.limits for t in spec.tests] == [run.limits, run.limits]
    assert spec.tests[0].limits.wall_s == 2.0
    assert spec.tests[0].limits.memory_mb == 64


def test_a_tests_own_limits() -> None:
    tests = [
        {"expected_output": "a"},
        {"expected_output": "b", "limits": {"time_s": 0.5, "memory_mb": 100, "output_kb": 4}},
    ]
    spec = plan(limits={"time_s": 2}, tests=tests)
    assert spec.tests[0].limits.wall_s == 2.0
    assert spec.tests[1].limits == StageLimits(
        wall_s=0.5,
        cpu_s=0.5,
        memory_mb=100,
        processes=40,
        open_files=90,
        file_size_mb=12,
        output_kb=4,
    )


def test_a_field_a_tests_limits_leave_out_is_the_servers() -> None:
    """docs/protocol.md, judge mode: "A field this object leaves out takes the server's value
    (as in a request's limits), not the request's"."""
    tests = [{"expected_output": "a", "limits": {"time_s": 1}}]
    spec = plan(limits={"time_s": 2, "memory_mb": 64, "output_kb": 16}, tests=tests)
    limits = spec.tests[0].limits
    assert limits.wall_s == 1.0
    assert (limits.memory_mb, limits.output_kb) == (300, 512)


@pytest.mark.parametrize(
    "limits", [{"time_s": 5.5}, {"memory_mb": 301}, {"output_kb": 600}, {"memory_mb": 15}]
)
def test_a_tests_own_limits_are_capped(limits: dict[str, float]) -> None:
    tests = [{"expected_output": "a"}, {"expected_output": "b", "limits": limits}]
    exc = refused(ErrorCode.LIMIT_EXCEEDED, tests=tests)
    assert "limits." in exc.message


def test_a_tests_args_replace_the_jobs() -> None:
    tests = [
        {"expected_output": "a"},
        {"expected_output": "b", "args": ["x", "y"]},
        {"expected_output": "c", "args": []},
    ]
    spec = plan(args=["job"], tests=tests)
    assert [t.args for t in spec.tests] == [["job"], ["x", "y"], []]
    assert spec.args == ["job"]


def test_a_tests_args_are_checked() -> None:
    too_many = [{"expected_output": "a", "args": ["1", "2", "3", "4"]}]
    refused(ErrorCode.LIMIT_EXCEEDED, tests=too_many)
    nul = [{"expected_output": "a", "args": ["bad\x00arg"]}]
    refused(ErrorCode.INVALID_REQUEST, tests=nul)
    at_the_limit = [{"expected_output": "a", "args": ["1", "2", "3"]}]
    assert plan(tests=at_the_limit).tests[0].args == ["1", "2", "3"]


def test_at_most_max_tests() -> None:
    assert len(plan(tests=cases(4)).tests) == 4
    exc = refused(ErrorCode.LIMIT_EXCEEDED, tests=cases(5))
    assert "4" in exc.message
    assert len(plan(make_settings(max_tests=5), tests=cases(5)).tests) == 5


def test_at_most_max_tests_kb_of_input_and_expected_output() -> None:
    half = "x" * 512
    at_the_limit = [{"stdin": half, "expected_output": ""}, {"stdin": "", "expected_output": half}]
    assert len(plan(tests=at_the_limit).tests) == 2
    over = [{"stdin": half, "expected_output": "y"}, {"stdin": "", "expected_output": half}]
    refused(ErrorCode.INPUT_TOO_LARGE, MessageTooLarge, tests=over)
    assert len(plan(make_settings(max_tests_kb=2), tests=over).tests) == 2


def test_max_tests_kb_counts_utf8_bytes() -> None:
    # 513 two-byte characters: 1026 bytes, over 1 KB in 513 characters
    refused(ErrorCode.INPUT_TOO_LARGE, MessageTooLarge, tests=[{"expected_output": "\u00e9" * 513}])
    plan(tests=[{"expected_output": "\u00e9" * 512}])


def test_a_lone_surrogate_in_a_test_is_refused() -> None:
    refused(ErrorCode.INVALID_REQUEST, tests=[{"stdin": "\ud800", "expected_output": ""}])


def test_empty_tests_are_refused() -> None:
    exc = refused(ErrorCode.INVALID_REQUEST, tests=[])
    assert "empty" in exc.message


# --- compare ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "canonical"),
    [
        (None, "lines"),
        ("", "lines"),
        ("lines", "lines"),
        ("exact", "exact"),
        ("tokens", "tokens"),
        ("float:1e-6", "float:1e-06"),
        ("float:0.001", "float:0.001"),
        ("float:0", "float:0.0"),
        ("float:-0", "float:0.0"),
    ],
)
def test_compare_is_parsed_and_canonical(asked: str | None, canonical: str) -> None:
    assert plan(compare=asked, tests=cases(1)).compare == canonical


@pytest.mark.parametrize(
    "asked", ["fuzzy", "Lines", "float", "float:", "float:-1", "float:inf", "float:nan", "float:x"]
)
def test_bad_compare_is_refused(asked: str) -> None:
    refused(ErrorCode.INVALID_REQUEST, compare=asked, tests=cases(1))
    refused(ErrorCode.INVALID_REQUEST, compare=asked)


# --- what admission and the worker read ---------------------------------------------------------


def test_longest_s_of_a_plain_job() -> None:
    assert plan(limits={"time_s": 3}).longest_s == 3.0
    assert plan(language="c", limits={"time_s": 3}).longest_s == 23.0


def test_longest_s_sums_compile_and_every_test() -> None:
    tests = [
        {"expected_output": "a"},
        {"expected_output": "b", "limits": {"time_s": 0.5}},
        {"expected_output": "c", "limits": {"time_s": 4}},
    ]
    assert plan(language="c", limits={"time_s": 2}, tests=tests).longest_s == 20.0 + 2 + 0.5 + 4
    assert plan(limits={"time_s": 2}, tests=tests).longest_s == 6.5


def test_ids_are_carried() -> None:
    spec = plan()
    assert spec.job_id == JOB
    assert spec.key_id == "key-1"
    assert build_spec(JobRequest(language="py", code="x"), SETTINGS).key_id == ""


def test_detach_grace_of_resumable_jobs() -> None:
    def execute(resumable: bool) -> Execute:
        return Execute.model_validate(
            {
                "type": "execute",
                "job_id": JOB,
                "job_token": "t",
                "language": "python",
                "code": "x",
                "resumable": resumable,
            }
        )

    assert build_spec(execute(True), SETTINGS).detach_grace_s == 45.0
    assert build_spec(execute(False), SETTINGS).detach_grace_s == 0.0
    assert build_spec(execute(False), SETTINGS).job_id == JOB


def test_the_plan_survives_the_queue() -> None:
    spec = plan(language="c", tests=cases(2, args=["a"]), compare="float:1e-6")
    assert JobSpec.model_validate_json(spec.model_dump_json()) == spec
