"""End to end: judge mode (`tests`, `compare`, `stop_on_failure`) over both doors.

One compile, then every test in a fresh sandbox of its own (fresh job directory, fresh /tmp,
fresh copy of the program); a `test` event per finished test, in index order, and no `output`
events for the runs; one `complete` with `passed` and `total`; the refusals of the caps.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from lib import results
from tests.client import Outcome, create_job, execute_message, open_job, run
from tests.conftest import Stack, scaled

pytestmark = pytest.mark.e2e

# -- programs --------------------------------------------------------------------------------------

CPP_SUM = (
    "#include <iostream>\n"
    "int main() { long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }\n"
)
# Doubles the number it reads; "loop" makes it spin forever, "sleep" makes it sleep long.
PY_DOUBLE = (
    "import sys, time\n"
    "s = sys.stdin.read().strip()\n"
    "if s == 'loop':\n"
    "    while True:\n"
    "        pass\n"
    "if s == 'sleep':\n"
    "    time.sleep(30)\n"
    "print(int(s) * 2)\n"
)
PY_ECHO = "import sys\nsys.stdout.write(sys.stdin.read())\n"
# Looks for a file a previous test would have left, then leaves it.
PY_MARKER = (
    "import os, sys\n"
    "path = sys.argv[1]\n"
    "if os.path.lexists(path):\n"
    "    print('seen')\n"
    "else:\n"
    "    with open(path, 'w') as f:\n"
    "        f.write('left by an earlier test')\n"
    "    print('fresh')\n"
)
C_SEGFAULT_ON_2 = (
    "#include <stdio.h>\n"
    "int main(void) {\n"
    "  int n = 0;\n"
    '  if (scanf("%d", &n) != 1) return 7;\n'
    "  if (n == 2) { volatile int *p = 0; *p = 1; }\n"
    '  printf("%d\\n", n * n);\n'
    "  return 0;\n"
    "}\n"
)
PY_ARGS = "import sys\nprint(' '.join(f'[{a}]' for a in sys.argv[1:]))\n"
# stdin "MB SECONDS": touch MB megabytes, sleep SECONDS, print "ok".
PY_RESOURCES = (
    "import sys, time\n"
    "mb, s = sys.stdin.read().split()\n"
    "block = b'x' * (int(mb) << 20)\n"
    "time.sleep(float(s))\n"
    "print('ok', len(block) >> 20)\n"
)


def case(stdin: str, expected: str, **extra: Any) -> dict[str, Any]:
    return {"stdin": stdin, "expected_output": expected, **extra}


# -- helpers ---------------------------------------------------------------------------------------


def reports_of(out: Outcome) -> list[dict[str, Any]]:
    return [e for e in out.events if e["type"] == "test"]


def run_outputs(out: Outcome) -> list[dict[str, Any]]:
    """`output` events of the runs (judge mode sends none; compile output may stream)."""
    return [e for e in out.events if e["type"] == "output" and e["stream"] != "compile"]


def check_events(out: Outcome, statuses: list[str]) -> list[dict[str, Any]]:
    """The test events: exactly one per entry of `statuses`, in index order, with those verdicts,
    all before `complete`, and no `output` event of a run among them."""
    reports = reports_of(out)
    assert [r["index"] for r in reports] == list(range(len(statuses))), out.summary()
    assert [r["status"] for r in reports] == statuses, out.summary()
    assert run_outputs(out) == [], out.summary()
    last_test = max(i for i, e in enumerate(out.events) if e["type"] == "test")
    assert out.events[last_test + 1 :] == [out.complete], out.summary()
    return reports


async def rest_execute(stack: Stack, body: dict[str, Any], timeout: float = 60) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=scaled(timeout)) as http:
        return await http.post(
            "/api/execute",
            content=json.dumps(body),  # ASCII, \u escapes: a lone surrogate can be sent
            headers={"X-API-Key": stack.api_key, "Content-Type": "application/json"},
        )


async def rest_result(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    reply = await rest_execute(stack, body)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def compiles(stack: Stack, language: str) -> int:
    client = aioredis.Redis.from_url(stack.redis_url)
    try:
        value = await client.hget(f"{stack.prefix}:stats:compiles", language)
    finally:
        await client.aclose()
    return int(value or 0)


async def settled_compiles(stack: Stack, language: str) -> int:
    """The counter once no earlier job's record is still landing: the worker records a job right
    after its `complete`, so an earlier test's compile may be counted a moment late."""
    value = await compiles(stack, language)
    deadline = time.monotonic() + scaled(10)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        again = await compiles(stack, language)
        if again == value:
            return value
        value = again
    raise AssertionError(f"the {language} compile counter does not settle")


async def compiles_after(stack: Stack, language: str, before: int) -> int:
    """The counter once it has moved past `before` (the record is one transaction: a job that
    compiled twice would move it by 2 at once, so the first changed value is the whole count)."""
    deadline = time.monotonic() + scaled(10)
    while time.monotonic() < deadline:
        now = await compiles(stack, language)
        if now != before:
            return now
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {language} compile was never counted (still {before})")


async def metric(stack: Stack, name: str) -> float | None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=scaled(10)) as http:
        reply = await http.get("/metrics")
    assert reply.status_code == 200
    for line in reply.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


# -- a whole judged job ----------------------------------------------------------------------------


async def test_cpp_twenty_tests_compiled_once(stack: Stack) -> None:
    pairs = [(i, 3 * i - 7) for i in range(20)]
    tests = [case(f"{a} {b}\n", f"{a + b}\n") for a, b in pairs]
    before = await settled_compiles(stack, "cpp")
    out = await run(stack, "cpp", CPP_SUM, tests=tests)
    reports = check_events(out, ["accepted"] * 20)
    for report, (a, b) in zip(reports, pairs, strict=True):
        assert report["stdout"] == f"{a + b}\n" and report["stderr"] == ""
        assert report["exit_code"] == 0 and report["signal"] is None
        assert report["execution_time"] > 0 and report["memory_kb"] > 0
        assert report["message"] is None
    done = out.complete
    assert done["status"] == "accepted", out.summary()
    assert done["passed"] == 20 and done["total"] == 20
    assert done["exit_code"] == 0 and done["signal"] is None
    assert done["execution_time"] == pytest.approx(
        sum(r["execution_time"] for r in reports), abs=1e-3
    )
    assert out.close_code == 1000
    after = await compiles_after(stack, "cpp", before)
    assert after == before + 1, f"20 tests compiled {after - before} times"
    assert await metric(stack, 'cexec_compiles_total{language="cpp"}') == after


async def test_timeout_among_passing_tests(stack: Stack) -> None:
    tests = [case(str(n), f"{2 * n}\n") for n in (1, 2)]
    tests.append(case("loop", "never\n", limits={"time_s": 1}))
    tests += [case(str(n), f"{2 * n}\n") for n in (4, 5)]
    started = time.monotonic()
    out = await run(stack, "python", PY_DOUBLE, tests=tests)
    elapsed = time.monotonic() - started
    reports = check_events(out, ["accepted", "accepted", "timeout", "accepted", "accepted"])
    assert 0.9 <= reports[2]["execution_time"] <= scaled(3), reports[2]
    assert reports[2]["message"], reports[2]
    done = out.complete
    assert done["status"] == "timeout", out.summary()
    assert done["passed"] == 4 and done["total"] == 5
    assert "test 2" in (done["message"] or ""), done
    # The 1 s limit is the looping test's own: the job's default (10 s) did not apply to it.
    assert elapsed < scaled(8), f"the job took {elapsed:.1f} s"


@pytest.mark.parametrize("path", ["marker", "/tmp/marker", "/var/tmp/marker", "/dev/shm/marker"])
async def test_each_test_starts_fresh(stack: Stack, path: str) -> None:
    """A file one test leaves (in the job directory or a temporary one) is not in the next."""
    out = await run(stack, "python", PY_MARKER, args=[path], tests=[case("", "fresh\n")] * 3)
    reports = check_events(out, ["accepted"] * 3)
    assert [r["stdout"] for r in reports] == ["fresh\n"] * 3, out.summary()
    assert out.status == "accepted"
    assert out.complete["passed"] == 3


async def test_c_program_file_left_by_a_test_is_gone(stack: Stack) -> None:
    code = (
        "#include <stdio.h>\n#include <unistd.h>\n"
        "int main(void) {\n"
        '  if (access("marker", F_OK) == 0) { puts("seen"); return 0; }\n'
        '  FILE *f = fopen("marker", "w");\n'
        "  if (!f) return 9;\n"
        '  fputs("x", f); fclose(f); puts("fresh");\n'
        "  return 0;\n"
        "}\n"
    )
    out = await run(stack, "c", code, tests=[case("", "fresh\n")] * 3)
    check_events(out, ["accepted"] * 3)
    assert out.status == "accepted"


# -- comparison modes, over REST -------------------------------------------------------------------

COMPARE_CASES = {
    # compare: [(what the program prints, expected output, verdict)]
    "lines": [
        ("1 2  \r\n3\t\r\n\n\n", "1 2\n3", "accepted"),
        ("a\r\nb\r\n", "a\nb\n", "accepted"),
        ("a\rb", "a\nb\n", "accepted"),
        (" 1 2\n", "1 2\n", "wrong_answer"),  # leading whitespace counts
        ("1  2\n", "1 2\n", "wrong_answer"),  # inner whitespace counts
        ("1\n\n2\n", "1\n2\n", "wrong_answer"),  # inner empty lines count
        ("", "x\n", "wrong_answer"),
    ],
    "exact": [
        ("1 2\n3\n", "1 2\n3\n", "accepted"),
        ("1 2 \n", "1 2\n", "wrong_answer"),
        ("1\r\n", "1\n", "wrong_answer"),
        ("1\n\n", "1\n", "wrong_answer"),
        ("1", "1\n", "wrong_answer"),
    ],
    "tokens": [
        ("1   2\n3\t4\n\n", "1 2 3 4", "accepted"),
        ("  a\r\n b  ", "a\nb\n", "accepted"),
        ("1 2 3\n", "1 2\n", "wrong_answer"),
        ("2 1\n", "1 2\n", "wrong_answer"),
        ("1.0\n", "1\n", "wrong_answer"),  # tokens are strings
    ],
    "float:1e-6": [
        ("0.3333333\n", "0.33333333\n", "accepted"),  # |diff| 3.3e-8
        ("1000000.5\n", "1000000\n", "accepted"),  # relative 5e-7
        ("1e3 2.5 x\n", "1000.0000001 2.5000001 x\n", "accepted"),
        ("1.00001\n", "1\n", "wrong_answer"),
        ("0.5 y\n", "0.5 x\n", "wrong_answer"),  # words are compared exactly
        ("1 2\n", "1 2 3\n", "wrong_answer"),
        ("nan\n", "1\n", "wrong_answer"),
    ],
}


@pytest.mark.parametrize("compare", list(COMPARE_CASES))
async def test_compare_modes_over_rest(stack: Stack, compare: str) -> None:
    cases = COMPARE_CASES[compare]
    body = {
        "language": "python",
        "code": PY_ECHO,
        "compare": compare,
        "tests": [case(printed, expected) for printed, expected, _ in cases],
    }
    result = await rest_result(stack, body)
    verdicts = [verdict for _, _, verdict in cases]
    reports = result["tests"]
    assert [r["index"] for r in reports] == list(range(len(cases))), result
    assert [r["type"] for r in reports] == ["test"] * len(cases)
    assert [r["status"] for r in reports] == verdicts, result
    assert [r["stdout"] for r in reports] == [printed for printed, _, _ in cases]
    for report in reports:
        assert report["exit_code"] == 0
        assert (report["message"] is None) == (report["status"] == "accepted"), report
    first_wrong = verdicts.index("wrong_answer")
    assert result["status"] == "wrong_answer"
    assert result["passed"] == verdicts.count("accepted") and result["total"] == len(cases)
    assert f"test {first_wrong}" in result["message"], result
    assert result["stdout"] == "" and result["language"] == "python"


async def test_default_compare_is_lines_and_all_pass_is_accepted_over_rest(stack: Stack) -> None:
    body = {
        "language": "python",
        "code": PY_ECHO,
        "tests": [case("7  \r\n\n", "7\n"), case("a b\n", "a b")],
    }
    result = await rest_result(stack, body)
    assert result["status"] == "accepted", result
    assert [r["status"] for r in result["tests"]] == ["accepted", "accepted"]
    assert result["passed"] == 2 and result["total"] == 2


# -- stopping early --------------------------------------------------------------------------------


async def test_stop_on_failure(stack: Stack) -> None:
    tests = [case(str(n), f"{2 * n}\n") for n in range(5)]
    tests[1] = case("1", "3\n")
    out = await run(stack, "python", PY_DOUBLE, tests=tests, stop_on_failure=True)
    reports = check_events(out, ["accepted", "wrong_answer"])
    assert reports[1]["stdout"] == "2\n"
    done = out.complete
    assert done["status"] == "wrong_answer", out.summary()
    assert done["passed"] == 1 and done["total"] == 5
    assert "test 1" in (done["message"] or "")


async def test_without_stop_on_failure_every_test_runs(stack: Stack) -> None:
    tests = [case(str(n), f"{2 * n}\n") for n in range(5)]
    tests[1] = case("1", "3\n")
    out = await run(stack, "python", PY_DOUBLE, tests=tests)
    check_events(out, ["accepted", "wrong_answer", "accepted", "accepted", "accepted"])
    done = out.complete
    assert done["status"] == "wrong_answer"
    assert done["passed"] == 4 and done["total"] == 5


async def test_compile_error_ends_at_once(stack: Stack) -> None:
    code = "#include <iostream>\nint main() { std::cout << undeclared_name; }\n"
    before = await settled_compiles(stack, "cpp")
    out = await run(stack, "cpp", code, tests=[case("", "x\n")] * 5)
    assert out.status == "compile_error", out.summary()
    assert reports_of(out) == [], out.summary()
    assert "undeclared_name" in out.compile
    assert run_outputs(out) == []
    assert out.close_code == 1000
    assert await compiles_after(stack, "cpp", before) == before + 1


async def test_runtime_error_with_signal(stack: Stack) -> None:
    tests = [case(str(n), f"{n * n}\n") for n in (1, 2, 3)]
    out = await run(stack, "c", C_SEGFAULT_ON_2, tests=tests)
    reports = check_events(out, ["accepted", "runtime_error", "accepted"])
    crashed = reports[1]
    assert crashed["signal"] == "SIGSEGV" and crashed["exit_code"] is None, crashed
    assert reports[0]["signal"] is None and reports[2]["signal"] is None
    done = out.complete
    assert done["status"] == "runtime_error", out.summary()
    assert done["signal"] == "SIGSEGV"
    assert done["passed"] == 2 and done["total"] == 3


async def test_runtime_error_exit_code_is_the_tests(stack: Stack) -> None:
    """A test whose program exits non-zero is a runtime_error even when its output matches."""
    code = "import sys\nn = int(input())\nprint(n)\nsys.exit(n)\n"
    out = await run(stack, "python", code, tests=[case("0", "0\n"), case("4", "4\n")])
    reports = check_events(out, ["accepted", "runtime_error"])
    assert reports[1]["exit_code"] == 4 and reports[1]["stdout"] == "4\n"
    assert out.status == "runtime_error" and out.complete["exit_code"] == 4


# -- per-test args and limits ---------------------------------------------------------------------


async def test_per_test_args(stack: Stack) -> None:
    tests = [
        case("", "[job] [args]\n"),  # the job's args
        case("", "[a] [b c]\n", args=["a", "b c"]),
        case("", "\n", args=[]),  # an empty list is the test's own: no args at all
        case("", "[--flag] [-]\n", args=["--flag", "-"]),
    ]
    out = await run(stack, "python", PY_ARGS, args=["job", "args"], tests=tests)
    reports = check_events(out, ["accepted"] * 4)
    assert [r["stdout"] for r in reports] == [t["expected_output"] for t in tests]


async def test_per_test_limits(stack: Stack) -> None:
    tests = [
        case("40 0.6", "ok 40\n"),  # the job's limits: 128 MB, 2 s
        case("40 0.6", "", limits={"time_s": 0.3}),
        case("120 0", "", limits={"memory_mb": 48}),
        case("120 0", "ok 120\n", limits={"memory_mb": 200, "time_s": 2}),
        case("1 0", "ok 1\n", limits={"output_kb": 1}),  # a few bytes: within 1 KB
        case("40 0.6", "ok 40\n"),  # the limits of tests 1 and 2 did not stick
        case("150 0", ""),  # the job's 128 MB apply to a test without limits of its own
        # A field a test's limits leave out takes the server's value (256 MB), not the job's.
        case("150 0", "ok 150\n", limits={"time_s": 2}),
    ]
    job_limits = {"time_s": 2, "memory_mb": 128}
    out = await run(stack, "python", PY_RESOURCES, limits=job_limits, tests=tests)
    statuses = ["accepted", "timeout", "memory_limit", "accepted", "accepted", "accepted"]
    reports = check_events(out, [*statuses, "memory_limit", "accepted"])
    assert reports[1]["execution_time"] < scaled(1.5), reports[1]
    assert reports[7]["memory_kb"] > 128 << 10, reports[7]
    done = out.complete
    assert done["status"] == "timeout" and done["passed"] == 5 and done["total"] == 8


async def test_per_test_output_limit(stack: Stack) -> None:
    code = "print('x' * int(input()))\n"
    tests = [case("3000", "x" * 3000 + "\n"), case("3000", "", limits={"output_kb": 1})]
    out = await run(stack, "python", code, tests=tests)
    reports = check_events(out, ["accepted", "output_limit"])
    assert len(reports[1]["stdout"]) <= 1024
    assert out.status == "output_limit"


async def test_whole_output_is_compared_not_only_what_is_kept(stack: Stack) -> None:
    """A test event keeps TEST_OUTPUT_KB of each stream; the verdict is on everything printed."""
    code = "import sys\nsys.stdout.write('x' * int(input()))\n"
    n = 4 * results.TEST_OUTPUT_KB * 1024
    tests = [case(str(n), "x" * n), case(str(n), "x" * (n - 1) + "y")]
    out = await run(stack, "python", code, tests=tests)
    reports = check_events(out, ["accepted", "wrong_answer"])
    for report in reports:
        assert report["stdout"] == "x" * (results.TEST_OUTPUT_KB * 1024), len(report["stdout"])
        assert report["stdout_truncated"] is True and report["stderr_truncated"] is False


# -- kill ------------------------------------------------------------------------------------------


async def test_kill_during_a_judged_run(stack: Stack) -> None:
    tests = [case(str(n), f"{2 * n}\n") for n in range(5)]
    tests[3] = case("sleep", "never\n")
    started = time.monotonic()
    async with open_job(stack, "python", PY_DOUBLE, tests=tests) as conn:
        while True:
            event = await conn.next_event()
            assert event is not None, conn.outcome.summary()
            assert event["type"] == "test", conn.outcome.summary()
            if event["index"] == 2:
                break
        await asyncio.sleep(0.5)  # test 3 is asleep in its sandbox now
        await conn.send({"type": "kill"})
        out = await conn.finish()
    elapsed = time.monotonic() - started
    # Test 3 was running: it is reported killed, and test 4 never runs.
    reports = check_events(out, ["accepted", "accepted", "accepted", "killed"])
    assert reports[3]["message"] == "stopped by the client", reports[3]
    done = out.complete
    assert done["status"] == "killed", out.summary()
    assert done["passed"] == 3 and done["total"] == 5
    assert "test 3" in (done["message"] or ""), done
    assert elapsed < scaled(15), f"kill took effect only after {elapsed:.1f} s"


# -- refusals --------------------------------------------------------------------------------------

REFUSALS = {
    "too_many_tests": (
        {"tests": [case("", "")] * 101},
        400,
        "limit_exceeded",
    ),
    "tests_over_1_mb": (
        {"tests": [case("x" * (300 << 10), "y" * (300 << 10))] * 2},  # 1200 KB
        413,
        "input_too_large",
    ),
    "expected_alone_over_1_mb": (
        {"tests": [case("", "y" * ((1 << 20) + 1))]},
        413,
        "input_too_large",
    ),
    "empty_tests": ({"tests": []}, 400, "invalid_request"),
    "bad_compare": ({"tests": [case("", "")], "compare": "regex"}, 400, "invalid_request"),
    "float_without_eps": ({"tests": [case("", "")], "compare": "float:"}, 400, "invalid_request"),
    "negative_eps": ({"tests": [case("", "")], "compare": "float:-1"}, 400, "invalid_request"),
    "expected_output_not_a_string": (
        {"tests": [{"stdin": "1", "expected_output": 1}]},
        400,
        "invalid_message",
    ),
    # The order of checks (docs/protocol.md): compare, then the number of tests, then their
    # size, then each test's limits; an empty list last.
    "compare_before_tests": (
        {"tests": [case("", "")] * 101, "compare": "regex"},
        400,
        "invalid_request",
    ),
    "number_before_size": (
        {"tests": [case("x" * (12 << 10), "")] * 101},  # 1212 KB
        400,
        "limit_exceeded",
    ),
    "size_before_test_limits": (
        {"tests": [case("x" * (600 << 10), "", limits={"time_s": 1000})] * 2},
        413,
        "input_too_large",
    ),
    "lone_surrogate_in_stdin": ({"tests": [case("\ud800", "")]}, 400, "invalid_request"),
    "nul_in_a_test_arg": ({"tests": [case("", "", args=["a\x00b"])]}, 400, "invalid_request"),
    "zero_time_limit": ({"tests": [case("", "", limits={"time_s": 0})]}, 400, "invalid_message"),
    "request_over_max_message": (
        {"tests": [case("x" * (2100 << 10), "")]},
        413,
        "message_too_large",
    ),
    "test_limit_over_cap": (
        {"tests": [case("", "", limits={"time_s": 1000})]},
        400,
        "limit_exceeded",
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
async def test_refusals_over_rest(stack: Stack, name: str) -> None:
    fields, status, code = REFUSALS[name]
    reply = await rest_execute(stack, {"language": "python", "code": "print(1)", **fields})
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["code"] == code, reply.text


@pytest.mark.parametrize(
    "name", ["too_many_tests", "tests_over_1_mb", "empty_tests", "bad_compare"]
)
async def test_refusals_over_websocket(stack: Stack, name: str) -> None:
    fields, _, code = REFUSALS[name]
    out = await run(stack, "python", "print(1)", **fields)
    assert out.error["code"] == code, out.summary()
    assert reports_of(out) == [] and not any(e["type"] == "complete" for e in out.events)


async def test_caps_are_inclusive(stack: Stack) -> None:
    """Exactly MAX_TESTS tests of exactly MAX_TESTS_KB in all are admitted (the job then starts:
    its first test event arrives, and the job is killed)."""
    each = (1 << 20) // 100  # bytes of stdin + expected per test; the rest goes to the last one
    tests = [case("x" * (each - 2), "1\n") for _ in range(100)]
    tests[-1] = case("x" * ((1 << 20) - 99 * each - 2), "1\n")
    total = sum(len(t["stdin"]) + len(t["expected_output"]) for t in tests)
    assert len(tests) == 100 and total == 1 << 20
    code = "import sys\nsys.stdin.read()\nprint(1)\n"
    job = await create_job(stack)
    async with websockets.connect(stack.ws_url, max_size=2**24) as ws:
        await ws.send(json.dumps(execute_message(job, "python", code, tests=tests)))
        first = json.loads(await asyncio.wait_for(ws.recv(), scaled(30)))
        assert first["type"] == "test", first
        assert first["index"] == 0 and first["status"] == "accepted", first
        await ws.send(json.dumps({"type": "kill"}))
        while (event := json.loads(await asyncio.wait_for(ws.recv(), scaled(30))))["type"] != (
            "complete"
        ):
            assert event["type"] == "test", event
    assert event["status"] == "killed" and event["total"] == 100, event


async def test_rest_result_by_id_has_the_tests(stack: Stack) -> None:
    """`wait=false`: the job runs unattended; its result, read by id, holds the same tests."""
    body = {"language": "python", "code": PY_DOUBLE, "tests": [case("1", "2\n"), case("2", "5\n")]}
    headers = {"X-API-Key": stack.api_key}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=scaled(30)) as http:
        queued = await http.post(
            "/api/execute", params={"wait": "false"}, json=body, headers=headers
        )
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["job_id"]
        deadline = time.monotonic() + scaled(30)
        while True:
            result = (await http.get(f"/api/jobs/{job_id}", headers=headers)).json()
            if result["status"] not in ("queued", "running") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    assert result["status"] == "wrong_answer", result
    assert [t["status"] for t in result["tests"]] == ["accepted", "wrong_answer"]
    assert [t["stdout"] for t in result["tests"]] == ["2\n", "4\n"]
    assert result["passed"] == 1 and result["total"] == 2


async def test_a_test_without_expected_output_passes_when_the_run_ends_well(stack: Stack) -> None:
    """`expected_output` left out: any output is accepted, a failing run is not (Judge0's
    submissions without an expected output, repeated `number_of_runs` times, stand on this)."""
    code = "import sys\nn = int(input())\nprint(n)\nsys.exit(n)\n"
    tests = [{"stdin": "0\n"}, {"stdin": "3\n"}]
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
        body = {"language": "python", "code": code, "tests": tests}
        reply = await http.post("/api/execute", json=body, headers={"X-API-Key": stack.api_key})
    result = reply.json()
    assert [t["status"] for t in result["tests"]] == ["accepted", "runtime_error"], result
    assert result["status"] == "runtime_error" and result["passed"] == 1
