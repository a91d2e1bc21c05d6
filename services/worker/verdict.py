"""From what a stage did to the `complete` message the client sees. Pure."""

from __future__ import annotations

import signal as signals

from lib.protocol import Complete, Status
from services.worker.stage import StageResult, Stop

# A program stopped by its CPU-time rlimit is a timeout, not a crash.
TIMEOUT_SIGNALS = {signals.SIGXCPU}


def signal_name(number: int | None) -> str | None:
    if not number:
        return None
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def run_status(result: StageResult, cpu_limit_s: float | None = None) -> tuple[Status, str | None]:
    """`cpu_limit_s`: the soft CPU limit; a program that ignored SIGXCPU and was then killed at
    the hard limit is a timeout too."""
    reaper = result.reaper
    if result.stopped is Stop.KILLED:
        return Status.KILLED, "stopped by the client"
    if result.stopped is Stop.OUTPUT:
        return Status.OUTPUT_LIMIT, "the program wrote more than the output limit"
    if result.stopped is Stop.TIMEOUT:
        return Status.TIMEOUT, "the program ran past its time limit"
    if result.oom_kills:
        return Status.MEMORY_LIMIT, "the program ran out of its memory limit"
    if reaper is None:
        return Status.RUNTIME_ERROR, "the program ended its own supervisor; no exit status"
    if reaper.signal in TIMEOUT_SIGNALS or (
        reaper.signal == signals.SIGKILL and cpu_limit_s and reaper.cpu_s >= cpu_limit_s
    ):
        return Status.TIMEOUT, "the program used up its CPU time limit"
    if reaper.signal or reaper.exit_code:
        return Status.RUNTIME_ERROR, None
    return Status.OK, None


def compile_failure(result: StageResult, limit_s: float) -> tuple[Status, str] | None:
    """None when compilation succeeded; otherwise the status and a reason."""
    reaper = result.reaper
    if result.stopped is Stop.KILLED:
        return Status.KILLED, "stopped by the client during compilation"
    if result.stopped is Stop.TIMEOUT:
        return Status.COMPILE_ERROR, f"compilation took longer than {limit_s:g} s"
    if result.stopped is Stop.OUTPUT:
        return Status.COMPILE_ERROR, "the compiler wrote more than the output limit"
    if result.oom_kills:
        return Status.COMPILE_ERROR, "the compiler ran out of memory"
    if reaper is None or reaper.signal or reaper.exit_code:
        return Status.COMPILE_ERROR, "compilation failed"
    return None


def complete(status: Status, result: StageResult | None, message: str | None = None) -> Complete:
    """The final message; measurements come from the reaper, else from the cgroup and the clock."""
    if result is None:
        return Complete(exit_code=None, execution_time=0.0, status=status, message=message)
    reaper = result.reaper
    cpu = reaper.cpu_s if reaper else (result.cpu_s or 0.0)
    memory = (reaper.max_rss_kb if reaper else 0) or (result.peak_kb or 0)
    return Complete(
        exit_code=reaper.exit_code if reaper else None,
        execution_time=round(reaper.wall_s if reaper else result.wall_s, 4),
        status=status,
        signal=signal_name(reaper.signal) if reaper else None,
        cpu_time=round(cpu, 4),
        memory_kb=int(memory),
        message=message,
    )
