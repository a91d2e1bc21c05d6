"""Judge mode end to end: a C++ solution over 50 tests through the service, against its floor.

    sudo .venv/bin/python bench/judge.py                 # starts its own stack, 5 rounds
    sudo .venv/bin/python bench/judge.py --rounds 10 --json

service: one POST /api/execute (language cpp, TESTS tests), from just before the request to the
         receipt of the whole response; it must answer `accepted` with every test passed.
floor:   the same work under the bare sandbox, measured in the same run: one compile of the same
         source with the service's g++ command line (lib.languages LANGUAGES["cpp"].compile,
         with the stdio object the worker links), then the compiled program run once per test,
         sequentially, each fed its test's stdin and its output judged as the service judges it
         (compare "lines"). "Bare sandbox" is latency.py's: `setpriv` to a slot user, then
         Firejail with the worker's very option list (sandbox.firejail_options, with its hidden
         and visible paths) and the stage's limits; no cexec-enter, reaper or cgroup, no job
         directory per test (every run is in the compile's directory), no Redis, no gateway.
         From the compile's spawn to the last run's exit, stdout read.

Rounds alternate the two (service first in even rounds, floor first in odd ones), after one
warm-up round of each, so that a slow phase of the machine weighs on both alike.

Target (issue 8): median service <= 1.3 x median floor. Exit status: 0 when every round
succeeded (whether or not the target holds), 1 when some round failed, 2 when the benchmark could
not start. Must run as root: the floor runs as a sandbox user, as the worker does.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _stack import REPO, BenchError, Stack, machine_info, run_script  # bench/, this dir
from _stats import fmt_ms, median, ms  # bench/, this dir
from latency import Floor  # bench/, this dir: the slot, natives and Firejail it prepares

from lib.compare import matches, parse_compare
from lib.config import Settings, load_settings
from lib.errors import ExecError
from lib.jobs import compile_limits, resolve_limits, run_limits
from lib.languages import BINARY, LANGUAGES, expand
from lib.protocol import SourceFile
from services.worker import sandbox, toolchains, workspace
from services.worker.worker import hidden_paths, visible_paths

TESTS = 50
COMPARE = "lines"  # the service's default, and the floor's judgement
SEED = 8  # the tests' numbers: random, but the same on every run
TARGET_RATIO = 1.3
REQUEST_TIMEOUT_S = 300.0  # a compile and 50 runs, each with its own limits, on a busy machine
STAGE_TIMEOUT_S = 60.0
# Reads n and n integers; prints their sum and how many distinct values there are.
SOURCE = r"""#include <algorithm>
#include <iostream>
#include <vector>

int main() {
    std::ios::sync_with_stdio(false);
    std::cin.tie(nullptr);
    int n = 0;
    if (!(std::cin >> n) || n < 0) return 1;
    std::vector<long long> xs(n);
    long long sum = 0;
    for (auto& x : xs) {
        std::cin >> x;
        sum += x;
    }
    std::sort(xs.begin(), xs.end());
    auto distinct = std::unique(xs.begin(), xs.end()) - xs.begin();
    std::cout << sum << ' ' << distinct << '\n';
}
"""
LANG = LANGUAGES["cpp"]


@dataclass(frozen=True)
class Case:
    stdin: str
    expected_output: str


def make_tests(count: int, seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        xs = [rng.randint(-1000, 1000) for _ in range(rng.randint(1, 200))]
        stdin = f"{len(xs)}\n{' '.join(map(str, xs))}\n"
        cases.append(Case(stdin, f"{sum(xs)} {len(set(xs))}\n"))
    return cases


@dataclass
class Sample:
    seconds: float | None  # None: the round failed
    detail: str = ""
    parts: dict[str, float] = field(default_factory=dict)  # the floor's compile and runs


# -- the service ---------------------------------------------------------------------------------


def service_round(http: httpx.Client, api_key: str, tests: list[Case]) -> Sample:
    body = {
        "language": LANG.name,
        "code": SOURCE,
        "compare": COMPARE,
        "tests": [{"stdin": t.stdin, "expected_output": t.expected_output} for t in tests],
    }
    started = time.perf_counter()
    try:
        response = http.post("/api/execute", headers={"X-API-Key": api_key}, json=body)
    except httpx.HTTPError as exc:
        return Sample(None, f"{type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        return Sample(None, f"HTTP {response.status_code} {response.text[:300]}")
    result = response.json()
    status, passed, total = result.get("status"), result.get("passed"), result.get("total")
    if status != "accepted" or passed != len(tests) or total != len(tests):
        failed = [t for t in result.get("tests") or [] if t.get("status") != "accepted"][:1]
        shown = {
            "status": status,
            "passed": passed,
            "total": total,
            "message": result.get("message"),
        }
        return Sample(None, f"{json.dumps(shown)}, first failed test: {json.dumps(failed)[:300]}")
    return Sample(elapsed)


# -- the floor: the same compile and runs under the bare sandbox ---------------------------------


@dataclass
class JudgeFloor:
    """latency.py's Floor (one slot of our own, the natives, Firejail, the cgroup tree) with
    what the worker would run for this job: its g++ command line and the stages' limits."""

    base: Floor
    compile_argv: list[str]
    hidden: tuple[str, ...]
    visible: tuple[str, ...]

    @classmethod
    def prepare(cls, settings: Settings) -> JudgeFloor:
        base = Floor.prepare(settings)
        try:
            found = toolchains.detect(settings.language_list)  # as the worker does at start
            if LANG.name not in found:
                raise BenchError("g++ must be installed for the sandbox users")
            assert LANG.compile is not None
            compile_argv = expand(
                LANG.compile,
                tool=found[LANG.name].path,
                main=LANG.default_file,
                sources=[LANG.default_file],
                stdio=base.natives.stdio,
            )
            visible = visible_paths([t.path for t in found.values()], base.natives)
            return cls(base, compile_argv, hidden_paths(settings), visible)
        except BaseException:
            base.close()
            raise

    def close(self) -> None:
        self.base.close()

    def limits(self, stage: str) -> sandbox.StageLimits:
        """The plan's limits of a job that asks for none (lib.jobs), as the worker's rlimits."""
        s = self.base.settings
        job = resolve_limits(None, s)
        planned = compile_limits(job, s) if stage == "compile" else run_limits(job, s)
        return self.base.sandbox().argv_limits(planned)

    def round(self, tests: list[Case]) -> Sample:
        files = [SourceFile(name=LANG.default_file, content=SOURCE)]
        job_dir = workspace.create(self.base.slot, uuid.uuid4().hex, files)
        status_read, status_write = os.pipe()  # only so that --keep-fd names a real descriptor
        comparison = parse_compare(COMPARE)
        run_argv = expand(LANG.run, tool="", main=LANG.default_file, sources=[])
        try:
            started = time.perf_counter()
            compiled = self._stage("compile", self.compile_argv, job_dir, status_write, b"")
            compiled_at = time.perf_counter()
            if compiled.returncode != 0 or not (job_dir / BINARY).is_file():
                return Sample(
                    None, f"compile: exit {compiled.returncode}, {compiled.stderr[:300]!r}"
                )
            for index, test in enumerate(tests):
                done = self._stage("run", run_argv, job_dir, status_write, test.stdin.encode())
                stdout = done.stdout.decode("utf-8", "replace")
                if done.returncode != 0 or not matches(comparison, test.expected_output, stdout):
                    return Sample(
                        None, f"test {index}: exit {done.returncode}, {done.stdout[:200]!r}"
                    )
            ended = time.perf_counter()
        except subprocess.TimeoutExpired as exc:
            return Sample(None, f"no exit after {exc.timeout:.0f}s: {exc.cmd[-1]}")
        finally:
            os.close(status_read)
            os.close(status_write)
            workspace.remove(job_dir)
        parts = {"compile": compiled_at - started, "run": (ended - compiled_at) / len(tests)}
        return Sample(ended - started, parts=parts)

    def _stage(
        self, stage: str, program: list[str], job_dir: Path, status_fd: int, stdin: bytes
    ) -> subprocess.CompletedProcess[bytes]:
        slot = self.base.slot
        options = sandbox.firejail_options(
            job_dir, status_fd, self.limits(stage), self.hidden, self.visible
        )
        identity = [f"--reuid={slot.uid}", f"--regid={slot.gid}", "--clear-groups"]
        argv = ["setpriv", *identity, self.base.firejail, *options, "--", *program]
        return subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            env=sandbox.launcher_env(),
            cwd=job_dir,
            pass_fds=(status_fd,),
            start_new_session=True,
            timeout=STAGE_TIMEOUT_S,
        )


# -- measuring and reporting ---------------------------------------------------------------------


@dataclass
class Series:
    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        return [s.seconds for s in self.samples if s.seconds is not None]

    @property
    def failures(self) -> list[str]:
        return [s.detail for s in self.samples if s.seconds is None]

    def part(self, name: str) -> list[float]:
        return [s.parts[name] for s in self.samples if name in s.parts]

    def summary(self) -> dict[str, Any]:
        xs = self.seconds
        return {
            "p50_ms": ms(median(xs)),
            "min_ms": ms(min(xs) if xs else None),
            "rounds": len(self.samples),
            "failures": len(self.failures),
        }


def measure(
    stack: Stack, floor: JudgeFloor, rounds: int, tests: list[Case]
) -> tuple[Series, Series]:
    service, bare = Series("service"), Series("floor")
    with httpx.Client(base_url=stack.url, timeout=REQUEST_TIMEOUT_S) as http:

        def service_once() -> Sample:
            sample = service_round(http, stack.api_key, tests)
            if sample.seconds is None:
                stack.check_alive()  # a dead gateway or worker ends the benchmark
            return sample

        for i in range(1 + rounds):  # round 0: the warm-up of both, not counted
            if i % 2 == 0:
                s, f = service_once(), floor.round(tests)
            else:
                f, s = floor.round(tests), service_once()
            if i > 0:
                service.samples.append(s)
                bare.samples.append(f)
    return service, bare


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def summarize(service: Series, bare: Series, rounds: int) -> dict[str, Any]:
    s, f = service.summary(), bare.summary()
    ratio = _ratio(s["p50_ms"], f["p50_ms"])
    return {
        "machine": machine_info(),
        "rounds": rounds,
        "warmup_rounds": 1,
        "tests": TESTS,
        "service": s,
        "floor": f
        | {
            "compile_p50_ms": ms(median(bare.part("compile"))),
            "run_p50_ms": ms(median(bare.part("run"))),  # one test's run, on average
        },
        "ratio_p50": ratio,
        "ratio_min": _ratio(s["min_ms"], f["min_ms"]),
        "target": {
            "rule": f"p50 service <= {TARGET_RATIO} x p50 floor",
            "holds": ratio is not None and ratio <= TARGET_RATIO,
        },
    }


def print_report(summary: dict[str, Any], series: list[Series]) -> None:
    m, target, floor = summary["machine"], summary["target"], summary["floor"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, {m['date_utc']}")
    print(f"job:     C++, {summary['tests']} tests; {summary['rounds']} rounds (+1 warm-up)")
    print(f"\n{'':10}{'p50':>12}{'min':>12}{'failures':>11}")
    for name in ("service", "floor"):
        row = summary[name]
        p50, low = fmt_ms(row["p50_ms"]), fmt_ms(row["min_ms"])
        print(f"{name:10}{p50:>12}{low:>12}{row['failures']:>7}/{row['rounds']}")
    print(
        f"\nfloor parts (p50): compile {fmt_ms(floor['compile_p50_ms'])}, "
        f"one test's run {fmt_ms(floor['run_p50_ms'])}"
    )
    print(
        f"ratio service/floor: p50 {summary['ratio_p50'] or '-'}, min {summary['ratio_min'] or '-'}"
    )
    print(f"target: {target['rule']}: {'HOLDS' if target['holds'] else 'MISSED'}")
    for s in series:
        for detail in s.failures[:3]:
            print(f"{s.name} failure: {detail}", file=sys.stderr)


# -- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def run(args: argparse.Namespace) -> int:
    tests = make_tests(TESTS)
    stack = Stack()
    floor = None
    try:
        stack.start()
        # The services run in REPO and read its .env; the floor must see the same settings.
        floor = JudgeFloor.prepare(load_settings(_env_file=REPO / ".env"))
        service, bare = measure(stack, floor, args.rounds, tests)
    finally:
        if floor is not None:
            floor.close()
        stack.stop()
    summary = summarize(service, bare, args.rounds)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_report(summary, [service, bare])
    return 1 if service.failures or bare.failures else 0


def main() -> int:
    args = parse_args()
    why = "the floor runs as a sandbox user, as the worker does"
    return run_script("bench/judge.py", why, lambda: run(args), (ExecError,))


if __name__ == "__main__":
    sys.exit(main())
