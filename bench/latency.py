"""End-to-end latency of a Python hello world through the service, against its floor.

    sudo .venv/bin/python bench/latency.py                       # starts its own stack
    sudo .venv/bin/python bench/latency.py --runs 100 --json
    sudo .venv/bin/python bench/latency.py --url http://127.0.0.1:8011 --api-key KEY

service: from just before POST /api/jobs/create to the receipt of `complete` on /ws/execute.
floor:   the worker's own sandbox (services/worker/firejail.py: cexec-enter → firejail →
         cexec-reaper → python3, in its cgroup) running that job's run stage directly, through the
         sandbox interface: from spawn to the stage's end, stdout read.
bare:    firejail with the same options, as the slot user, running python3 -c alone.

Target: median service <= 1.5 x median floor + 10 ms. Exit status: 0 when every run succeeded
(whether or not the target holds), 1 when some run failed, 2 when the benchmark could not start.
Must run as root: the floor needs a sandbox user and cgroups, like the worker. With --url the
floor is still measured on this host, with the settings of this checkout (its .env, environment).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from _stack import REPO, BenchError, Stack, machine_info, run_script  # bench/, this dir
from _stats import fmt_ms, median, ms, quantile  # bench/, this dir

from lib.config import Settings, load_settings
from lib.errors import ExecError
from lib.jobs import StageLimits, resolve_limits, run_limits
from lib.languages import LANGUAGES, expand
from lib.protocol import SourceFile
from services.worker import cgroups, natives, sandbox, slots, toolchains, workspace
from services.worker.cgroups import Cgroups
from services.worker.cleanup import Cleanup
from services.worker.firejail import FirejailSandbox
from services.worker.sandboxes import StageRequest
from services.worker.stage import own_namespaces
from services.worker.worker import hidden_paths, visible_paths

HELLO = 'print("hello")'
EXPECTED = "hello\n"
WARMUP_RUNS = 3
RUN_TIMEOUT_S = 30.0
SLACK_FACTOR = 1.5
SLACK_S = 0.010


# -- one run through the service -----------------------------------------------------------------


@dataclass
class Sample:
    seconds: float | None  # None: the run failed
    detail: str = ""


async def service_run(http: httpx.AsyncClient, ws_url: str, api_key: str) -> Sample:
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            return await _service_run(http, ws_url, api_key)
    except (TimeoutError, OSError, httpx.HTTPError, websockets.WebSocketException) as exc:
        return Sample(None, f"{type(exc).__name__}: {exc}")


async def _service_run(http: httpx.AsyncClient, ws_url: str, api_key: str) -> Sample:
    started = time.perf_counter()
    created = await http.post("/api/jobs/create", headers={"X-API-Key": api_key})
    if created.status_code != 200:
        return Sample(None, f"create: HTTP {created.status_code} {created.text[:200]}")
    job = created.json()
    execute = {"type": "execute", "language": "python", "code": HELLO}
    execute |= {"job_id": job["job_id"], "job_token": job["job_token"]}
    stdout = []
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps(execute))
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "output" and msg["stream"] == "stdout":
                stdout.append(msg["data"])
            elif msg["type"] != "output":
                elapsed = time.perf_counter() - started  # the socket's close is not counted
                return _judge(elapsed, msg, "".join(stdout))
    return Sample(None, "the connection closed before `complete`")


def _judge(elapsed: float, final: dict[str, Any], stdout: str) -> Sample:
    if final["type"] != "complete" or final.get("status") != "ok":
        return Sample(None, json.dumps(final))
    if stdout != EXPECTED:
        return Sample(None, f"stdout {stdout!r}")
    return Sample(elapsed)


# -- the floor: the worker's command, without the service ------------------------------------------


@dataclass
class Floor:
    """One sandbox slot of our own, and what the worker would build for a Python job."""

    settings: Settings
    slot: sandbox.Slot
    locks: list[int]
    natives: sandbox.Natives
    firejail: str
    python: str
    hierarchy: Cgroups | None  # None: no cgroups here, memory capped by RLIMIT_AS instead

    @classmethod
    def prepare(cls, settings: Settings) -> Floor:
        # Taken after the stack is up: the worker then starts exactly as it would alone, and on a
        # cgroup v2 host it has already set up the tree that detect() below joins.
        firejail = shutil.which(settings.firejail, path=sandbox.SANDBOX_PATH)
        python = toolchains.find_tool(LANGUAGES["python"].tool)
        if firejail is None or python is None:
            raise BenchError("firejail and python3 must be installed for the sandbox users")
        hierarchy = cgroups.detect(settings.cgroup_name)
        lock = hierarchy.lock_dir if hierarchy else None
        slot_list, locks = slots.acquire(settings.sandbox_user_prefix, 1, os.geteuid(), lock)
        floor = cls(
            settings,
            slot_list[0],
            locks,
            natives.ensure_natives(settings.native_dir),
            firejail,
            python,
            hierarchy,
        )
        workspace.prepare_slot(floor.slot, settings.job_disk_mb, settings.job_inodes)
        if floor.hierarchy is not None:
            floor.hierarchy.clean_slot(floor.slot.key)
        return floor

    def close(self) -> None:
        for fd in self.locks:
            os.close(fd)

    @property
    def limits(self) -> sandbox.StageLimits:
        """As the worker's run stage of a job that asks for no limits of its own: the plan's
        limits (lib.jobs) as the worker's sandbox turns them into rlimits."""
        return self.sandbox().argv_limits(self.plan_limits)

    def sandbox(self) -> FirejailSandbox:
        """The worker's own cold sandbox (services/worker/firejail.py), as the worker builds it."""
        return FirejailSandbox(
            firejail=self.firejail,
            natives=self.natives,
            cgroups=self.hierarchy,
            host_namespaces=own_namespaces(),
            job_disk_mb=self.settings.job_disk_mb,
            job_inodes=self.settings.job_inodes,
            hidden=hidden_paths(self.settings),
            visible=visible_paths([self.python], self.natives),
        )

    async def full_run(self) -> Sample:
        """One run stage through the sandbox interface, exactly as the worker starts it: from
        spawn to the stage's end (exit, output drained, cgroup emptied); clean-up not timed."""
        sandbox_, cleanup, out = self.sandbox(), Cleanup(), []

        async def keep(stream: str, text: str) -> None:
            out.append(text)

        try:
            files = workspace.source_files([SourceFile(name=self._main, content=HELLO)])
            job_dir = await sandbox_.create_dir(
                self.slot, uuid.uuid4().hex, files, cleanup, last=False
            )
            request = StageRequest(
                self.slot, job_dir, "run", self._program(), self.plan_limits, ("stdout", "stderr")
            )
            started = time.perf_counter()
            result = await sandbox_.run_stage(request, keep, None, asyncio.Event(), cleanup)
            elapsed = time.perf_counter() - started
        except ExecError as exc:
            return Sample(None, f"the stage failed: {exc}")
        finally:
            await cleanup.run()
        reaper = result.reaper
        if reaper is None or reaper.exit_code != 0 or "".join(out) != EXPECTED:
            return Sample(None, f"reaper {reaper}, output {''.join(out)[:200]!r}")
        return Sample(elapsed)

    @property
    def plan_limits(self) -> StageLimits:
        """The plan's run limits of a job that asks for none (lib.jobs, as the gateway does)."""
        s = self.settings
        return run_limits(resolve_limits(None, s), s)

    @property
    def _main(self) -> str:
        return LANGUAGES["python"].default_file

    def bare_run(self) -> Sample:
        job_dir = self._job_dir()
        status_read, status_write = os.pipe()  # only so that --keep-fd names a real descriptor
        try:
            options = sandbox.firejail_options(job_dir, status_write, self.limits)
            identity = [f"--reuid={self.slot.uid}", f"--regid={self.slot.gid}", "--clear-groups"]
            argv = ["setpriv", *identity, self.firejail, *options, "--", self.python, "-c", HELLO]
            return _timed(argv, job_dir, status_write)
        finally:
            os.close(status_read)
            os.close(status_write)
            workspace.remove(job_dir)

    def _job_dir(self) -> Path:
        files = [SourceFile(name=LANGUAGES["python"].default_file, content=HELLO)]
        return workspace.create(self.slot, uuid.uuid4().hex, files)

    def _program(self) -> list[str]:
        lang = LANGUAGES["python"]
        return expand(lang.run, tool=self.python, main=lang.default_file, sources=[])


def _timed(argv: list[str], job_dir: Path, status_fd: int) -> Sample:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=sandbox.launcher_env(),
            cwd=job_dir,
            pass_fds=(status_fd,),
            start_new_session=True,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return Sample(None, f"no exit after {RUN_TIMEOUT_S:.0f}s")
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or done.stdout != EXPECTED.encode():
        return Sample(None, f"exit {done.returncode}, stdout {done.stdout!r}, {done.stderr!r}")
    return Sample(elapsed)


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

    def add(self, sample: Sample, counted: bool) -> None:
        if counted:
            self.samples.append(sample)

    def median(self) -> float | None:
        return median(self.seconds)

    def p90(self) -> float | None:
        return quantile(self.seconds, 90)

    def summary(self) -> dict[str, Any]:
        return {
            "median_ms": ms(self.median()),
            "p90_ms": ms(self.p90()),
            "runs": len(self.samples),
            "failures": len(self.failures),
        }


async def measure(
    url: str, api_key: str, floor: Floor, runs: int, bare: bool, check_stack: Callable[[], None]
) -> tuple[Series, Series, Series | None]:
    """Service, floor and bare runs interleaved, so that a slow phase of the machine (another
    process, frequency scaling) weighs on all of them alike rather than on one series.

    Nothing else is in flight while a floor run runs: the series do not overlap."""
    service, full = Series("service"), Series("floor")
    bare_series = Series("bare firejail") if bare else None
    ws_url = url.replace("http", "ws", 1) + "/ws/execute"
    async with httpx.AsyncClient(base_url=url, timeout=RUN_TIMEOUT_S) as http:
        for i in range(WARMUP_RUNS + runs):
            counted = i >= WARMUP_RUNS
            sample = await service_run(http, ws_url, api_key)
            if sample.seconds is None:
                check_stack()  # a dead gateway or worker ends the benchmark, not N failures
            service.add(sample, counted)
            full.add(await floor.full_run(), counted)
            if bare_series is not None:
                bare_series.add(floor.bare_run(), counted)
    return service, full, bare_series


def summarize(
    service: Series, full: Series, bare: Series | None, mode: str, runs: int
) -> dict[str, Any]:
    med_service, med_floor = service.median(), full.median()
    limit = None if med_floor is None else SLACK_FACTOR * med_floor + SLACK_S
    holds = med_service is not None and limit is not None and med_service <= limit
    return {
        "machine": machine_info(),
        "mode": mode,
        "runs": runs,
        "warmup_runs": WARMUP_RUNS,
        "service": service.summary(),
        "floor": full.summary(),
        "bare_firejail": bare.summary() if bare else None,
        "ratio": round(med_service / med_floor, 3) if med_service and med_floor else None,
        "target": {
            "rule": f"median service <= {SLACK_FACTOR} * median floor + {SLACK_S * 1000:.0f} ms",
            "limit_ms": ms(limit),
            "holds": holds,
        },
    }


def print_report(summary: dict[str, Any], series: list[Series]) -> None:
    m, target = summary["machine"], summary["target"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, {m['date_utc']}")
    print(f"mode:    {summary['mode']}, {summary['runs']} runs (+{WARMUP_RUNS} warm-up)")
    print(f"\n{'':16}{'median':>10}{'p90':>10}{'failures':>11}")
    for s in series:
        row = s.summary()
        median, p90 = fmt_ms(row["median_ms"]), fmt_ms(row["p90_ms"])
        print(f"{s.name:16}{median:>10}{p90:>10}{row['failures']:>7}/{row['runs']}")
    print(f"\nratio service/floor (medians): {summary['ratio'] or '-'}")
    verdict = "HOLDS" if target["holds"] else "MISSED"
    print(f"target: {target['rule']} (limit {fmt_ms(target['limit_ms'])}): {verdict}")
    for s in series:
        for detail in s.failures[:3]:
            print(f"{s.name} failure: {detail}", file=sys.stderr)


# -- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50, help="measured runs of each (default 50)")
    parser.add_argument("--url", help="benchmark this running gateway instead of our own stack")
    parser.add_argument("--api-key", help="the X-API-Key for --url")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare firejail series")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if bool(args.url) != bool(args.api_key):
        parser.error("--url and --api-key go together")
    return args


def run(args: argparse.Namespace) -> int:
    stack = None if args.url else Stack()
    floor = None
    try:
        if stack is not None:
            stack.start()
            url, key = stack.url, stack.api_key
        else:
            url, key = args.url.rstrip("/"), args.api_key
        # The services run in REPO and read its .env; the floor must see the same settings.
        floor = Floor.prepare(load_settings(_env_file=REPO / ".env"))
        check = stack.check_alive if stack is not None else lambda: None
        service, full, bare = asyncio.run(
            measure(url, key, floor, args.runs, not args.no_bare, check)
        )
    finally:
        if floor is not None:
            floor.close()
        if stack is not None:
            stack.stop()
    series = [s for s in (service, full, bare) if s is not None]
    summary = summarize(service, full, bare, "url" if args.url else "own stack", args.runs)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_report(summary, series)
    return 1 if any(s.failures for s in series) else 0


def main() -> int:
    args = parse_args()
    why = "the floor runs as a sandbox user in a cgroup, as the worker does"
    return run_script("bench/latency.py", why, lambda: run(args), (ExecError,))


if __name__ == "__main__":
    sys.exit(main())
