"""What the Firejail options of the host view cost, against the floor.

    sudo .venv/bin/python bench/sandbox_options.py               # 50 runs of each set
    sudo .venv/bin/python bench/sandbox_options.py --runs 100 --json

Every set runs `python3 -c 'print(1)'` in Firejail as a sandbox user (`setpriv` + `firejail`, no
cexec-enter, reaper or cgroup), from spawn to exit with stdout read. The sets, all in one run and
interleaved (each round runs every set once, in a shuffled order), so that a slow phase of the
machine weighs on all of them alike:

  floor           firejail --noprofile --net=none --private-tmp --private-dev --caps.drop=all
                  --nonewprivs --seccomp
  +masks          floor + the masked directories (/run, /var, /opt, /srv, /mnt, /media: empty
                  tmpfs but for /run/lock, /var/tmp, /opt/cexec-node)
  +etc whitelist  floor + /etc as a tmpfs with only sandbox.ETC_FILES bound in (what cexec uses)
  +private-etc    floor + --private-etc with the same files (copied on every start: rejected)
  +dbus off       floor + --dbus-system=none --dbus-user=none
  +host sockets   floor + the blacklist of the host sockets Firejail brings in (/dev/log, X11…)
  +host view      floor + all of sandbox.host_view_options()
  cexec, no view  the worker's whole option list (sandbox.firejail_options) without the view
  cexec           the worker's whole option list, as every stage gets it

Exit status: 0 when every run succeeded, 1 when some run failed, 2 when it could not start. Must
run as root (it runs Firejail as a sandbox user, as the worker does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _stack import REPO, BenchError, machine_info, run_script  # bench/, this dir
from _stats import fmt_ms, median, ms, quantile  # bench/, this dir

from lib.config import Settings, load_settings
from lib.languages import LANGUAGES
from lib.protocol import SourceFile
from services.worker import sandbox, slots, toolchains, workspace
from services.worker.worker import hidden_paths

PROGRAM = "print(1)"
EXPECTED = b"1\n"
WARMUP_ROUNDS = 3
RUN_TIMEOUT_S = 30.0
FLOOR = [
    "--noprofile",
    "--net=none",
    "--private-tmp",
    "--private-dev",
    "--caps.drop=all",
    "--nonewprivs",
    "--seccomp",
]
SEED = 7  # the order of the sets within each round: shuffled, but the same on every run


@dataclass
class Series:
    name: str
    options: list[str]
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def median(self) -> float | None:
        return median(self.seconds)

    def p90(self) -> float | None:
        return quantile(self.seconds, 90)


def option_sets(job_dir: Path, status_fd: int, settings: Settings) -> list[Series]:
    view = sandbox.host_view_options()
    masks = [f"--whitelist={d}/{sandbox.MASK_PLACEHOLDER}" for d in sandbox.MASKED_DIRS]
    masks += [f"--whitelist={p}" for p in sandbox.KEPT_PATHS]
    etc = [f"--whitelist=/etc/{name}" for name in sandbox.ETC_FILES]
    sockets = [f"--blacklist={p}" for p in sandbox.BLOCKED_HOST_SOCKETS]
    limits = sandbox.StageLimits(
        wall_s=settings.execution_timeout,
        cpu_s=settings.execution_timeout,
        memory_mb=settings.max_memory_mb,
        processes=settings.max_processes,
        open_files=settings.max_open_files,
        file_size_mb=settings.max_file_size_mb,
        address_space=False,
    )
    cexec = sandbox.firejail_options(job_dir, status_fd, limits, hidden_paths(settings))
    return [
        Series("floor", FLOOR),
        Series("+masks", FLOOR + masks),
        Series("+etc whitelist", FLOOR + etc),
        Series("+private-etc", [*FLOOR, "--private-etc=" + ",".join(sandbox.ETC_FILES)]),
        Series("+dbus off", FLOOR + list(sandbox.DBUS_OFF)),
        Series("+host sockets", FLOOR + sockets),
        Series("+host view", FLOOR + view),
        Series("cexec, no view", [o for o in cexec if o not in view]),
        Series("cexec", cexec),
    ]


@dataclass
class Bench:
    settings: Settings
    slot: sandbox.Slot
    locks: list[int]
    firejail: str
    python: str

    @classmethod
    def prepare(cls, settings: Settings) -> Bench:
        firejail = shutil.which(settings.firejail, path=sandbox.SANDBOX_PATH)
        python = toolchains.find_tool(LANGUAGES["python"].tool)
        if firejail is None or python is None:
            raise BenchError("firejail and python3 must be installed for the sandbox users")
        slot_list, locks = slots.acquire(settings.sandbox_user_prefix, 1, os.geteuid())
        bench = cls(settings, slot_list[0], locks, firejail, python)
        workspace.prepare_slot(bench.slot, settings.job_disk_mb, settings.job_inodes)
        return bench

    def close(self) -> None:
        for fd in self.locks:
            os.close(fd)

    def measure(self, runs: int) -> list[Series]:
        files = [SourceFile(name="main.py", content=PROGRAM)]
        job_dir = workspace.create(self.slot, uuid.uuid4().hex, files)
        status_read, status_write = os.pipe()  # so that --keep-fd names a real descriptor
        try:
            series = option_sets(job_dir, status_write, self.settings)
            order = list(series)
            shuffle = random.Random(SEED).shuffle
            for round_ in range(WARMUP_ROUNDS + runs):
                shuffle(order)
                for s in order:
                    elapsed, failure = self._run(s.options, job_dir, status_write)
                    if round_ < WARMUP_ROUNDS:
                        continue
                    if failure is None:
                        s.seconds.append(elapsed)
                    else:
                        s.failures.append(failure)
            return series
        finally:
            os.close(status_read)
            os.close(status_write)
            workspace.remove(job_dir)

    def _run(self, options: list[str], job_dir: Path, status_fd: int) -> tuple[float, str | None]:
        identity = [f"--reuid={self.slot.uid}", f"--regid={self.slot.gid}", "--clear-groups"]
        program = [self.python, "-c", PROGRAM]
        argv = ["setpriv", *identity, self.firejail, "--quiet", *options, "--", *program]
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
            return 0.0, f"no exit after {RUN_TIMEOUT_S:.0f}s"
        elapsed = time.perf_counter() - started
        if done.returncode != 0 or done.stdout != EXPECTED:
            return elapsed, f"exit {done.returncode}, {done.stdout[:200]!r}, {done.stderr[:300]!r}"
        return elapsed, None


def summarize(series: list[Series], runs: int) -> dict[str, Any]:
    floor = series[0].median()
    rows = []
    for s in series:
        median = s.median()
        rows.append(
            {
                "set": s.name,
                "median_ms": ms(median),
                "p90_ms": ms(s.p90()),
                "over_floor_ms": ms(median - floor) if median and floor else None,
                "ratio": round(median / floor, 3) if median and floor else None,
                "runs": len(s.seconds) + len(s.failures),
                "failures": len(s.failures),
                "options": s.options,
            }
        )
    return {"machine": machine_info(), "runs": runs, "warmup_rounds": WARMUP_ROUNDS, "sets": rows}


def print_report(summary: dict[str, Any], series: list[Series]) -> None:
    m = summary["machine"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, {m['date_utc']}")
    print(f"runs:    {summary['runs']} of each set, interleaved (+{WARMUP_ROUNDS} warm-up rounds)")
    print(f"\n{'':16}{'median':>10}{'p90':>10}{'vs floor':>11}{'ratio':>8}{'failures':>11}")
    for row in summary["sets"]:
        over = row["over_floor_ms"]
        over_text = "-" if over is None else f"{over:+.1f} ms"
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        print(
            f"{row['set']:16}{fmt_ms(row['median_ms']):>10}{fmt_ms(row['p90_ms']):>10}"
            f"{over_text:>11}{ratio:>8}{row['failures']:>7}/{row['runs']}"
        )
    for s in series:
        for detail in s.failures[:3]:
            print(f"{s.name} failure: {detail}", file=sys.stderr)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50, help="measured runs of each (default 50)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def run(args: argparse.Namespace) -> int:
    # The worker's settings, as latency.py's floor reads them: this checkout's .env, environment.
    bench = Bench.prepare(load_settings(_env_file=REPO / ".env"))
    try:
        series = bench.measure(args.runs)
    finally:
        bench.close()
    summary = summarize(series, args.runs)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_report(summary, series)
    return 1 if any(s.failures for s in series) else 0


def main() -> int:
    args = parse_args()
    why = "it runs Firejail as a sandbox user, as the worker does"
    return run_script("bench/sandbox_options.py", why, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
