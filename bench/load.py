"""Load: 1,000 concurrent WebSocket connections and 200 queued jobs against ONE gateway.

    sudo .venv/bin/python bench/load.py                      # --connections 1000 --jobs 200
    sudo .venv/bin/python bench/load.py --connections 300 --jobs 50 --json

Starts its own stack (bench/_stack.py, as bench/latency.py does): redis-server, one gateway and
one worker with WORKER_CONCURRENCY = the number of CPUs, all on 127.0.0.1. Everything is bounded:
C connections, J jobs, --timeout seconds in all; then it stops the stack by itself.

The mix, with C = --connections and J = --jobs (J <= C):
- J measured jobs, one connection each: a Python program that prints a numbered sequence, one
  line "<i> <time.time()>" at a time. Half are "paced" (PACED_LINES lines, PACED_SLEEP_S apart),
  half "burst" (BURST_LINES lines as fast as it can write them). With WORKER_CONCURRENCY = nproc
  they queue: nproc run at a time, the rest wait in the queue.
- C - J waiting connections: opened before the measured jobs are sent, then each sends an accepted
  `execute` whose job is queued behind every measured one (a program that would sleep; it never
  gets to run before the end). This is the state most connections of a busy service are in: the
  gateway holds, for each, the WebSocket, a blocking XREAD on the job's event stream, the task
  that forwards input, and (where the gateway keeps one) the client lease. At the end they are
  closed, which kills their jobs. Each must have been held open, with no message, until then.
So during the measured window all C connections are open and have an accepted job.

Phases: (1) create C jobs over REST, 50 requests at a time; (2) open the C - J waiting connections
(no message yet); (3) open the J measured connections and send their `execute`s; wait until the
gateway has admitted all of them (their tokens are spent in Redis), so that they are queued first;
(4) the waiting connections send their `execute`s; (5) wait for every measured job's `complete`
(or the deadline); (6) check and close the waiting connections.

What it reports:
- lost events: for each measured job, the lines of its sequence that did not arrive exactly once
  and in order (each missing, repeated or out-of-order line counts 1), plus 1 for a missing
  `complete` or more than one. Must be 0.
- event latency: for each line, the client's time.time() when the line was complete in what it
  had received, minus the time.time() the program wrote into the line. The program, worker,
  gateway and client are on one machine and read the same clock. It includes the pipe, the
  worker's read and XADD, Redis, the gateway's XREAD and send, the socket, and the client's own
  scheduling: the client runs on the same CPUs as the stack. p50 and p99 over all lines, and over
  the paced lines alone (a burst line also waits behind the lines before it). Phase (4) sends the
  C - J waiting `execute`s at once, while the first measured jobs run: their admission shares the
  gateway's one event loop with the relaying of output, which shows in the tail.
- the gateway's peak RSS (VmRSS in /proc/<pid>/status every 100 ms) and its RSS before the load;
  its peak count of open file descriptors and Redis's peak connected clients (every 500 ms).
- total wall time (phase 1 to the end of phase 6), the measured window (first measured `execute`
  sent to last `complete` received) and jobs/s = J / window.

Settings it changes from the defaults, and why (one API key creates every job):
- RATE_LIMIT_PER_MINUTE=0, MAX_RUNNING_PER_KEY=0, MAX_QUEUE_LENGTH=0 (where the gateway has these
  admission limits: 0 turns them off). By default one API key may create 600 jobs a minute and
  have 50 admitted, unfinished jobs, and the queue holds 1,000: this benchmark puts C jobs of one
  key in the queue at once. The per-key limits are a policy against one tenant hogging the
  service, not a capacity limit of the gateway.
- EXECUTE_WAIT_S=120: the waiting connections are opened before the measured jobs are sent and
  send their `execute` only once those are queued, which takes longer than the default 5 s.
The process's RLIMIT_NOFILE soft limit is raised to the hard limit first (the stack inherits it):
C sockets on the client side, C sockets and up to C Redis connections on the gateway's.

Exit status: 0 when no event was lost and every connection was held to the end; 1 otherwise;
2 when the benchmark could not start. Must run as root, like the worker (sandbox users, cgroups).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis
import websockets
from _stack import BenchError, Stack, machine_info, run_script  # bench/, this dir
from websockets.exceptions import ConnectionClosed, InvalidHandshake

PACED_LINES = 20
PACED_SLEEP_S = 0.02
BURST_LINES = 400
WAITING_PROGRAM = "import time\ntime.sleep(60)\n"
CREATE_CONCURRENCY = 50
CONNECT_CONCURRENCY = 100
SAMPLE_RSS_S = 0.1
SAMPLE_FDS_S = 0.5
ADMISSION_WAIT_S = 30.0
CLOSE_TIMEOUT_S = 5.0
SETTINGS = {
    "RATE_LIMIT_PER_MINUTE": "0",
    "MAX_RUNNING_PER_KEY": "0",
    "MAX_QUEUE_LENGTH": "0",
    "EXECUTE_WAIT_S": "120",
}


def program(kind: str) -> str:
    if kind == "paced":
        return (
            "import time\n"
            f"for i in range({PACED_LINES}):\n"
            "    print(i, repr(time.time()))\n"
            f"    time.sleep({PACED_SLEEP_S})\n"
        )
    return f"import time\nfor i in range({BURST_LINES}):\n    print(i, repr(time.time()))\n"


# -- one measured job ----------------------------------------------------------------------------


@dataclass
class JobRun:
    kind: str
    lines: int
    job_id: str = ""
    seen: list[int] = field(default_factory=list)  # sequence numbers, in order of arrival
    latencies: list[float] = field(default_factory=list)
    completes: int = 0
    status: str | None = None
    close: int | None = None
    problem: str = ""
    finished: float | None = None  # time.monotonic() of the `complete`

    @property
    def lost(self) -> int:
        """Lines not received exactly once in order, plus a missing or repeated `complete`."""
        good = sum(1 for i, n in enumerate(self.seen[: self.lines]) if n == i)
        return (self.lines - good) + len(self.seen[self.lines :]) + (self.completes != 1)

    @property
    def ok(self) -> bool:
        return not self.problem and self.lost == 0 and self.status == "ok" and self.close == 1000


def execute_message(job: dict[str, Any], code: str) -> str:
    return json.dumps(
        {
            "type": "execute",
            "job_id": job["job_id"],
            "job_token": job["job_token"],
            "language": "python",
            "code": code,
        }
    )


async def connect(url: str) -> Any:
    return await websockets.connect(
        url, compression=None, max_size=2**24, ping_interval=None, open_timeout=60, proxy=None
    )


async def run_job(url: str, job: dict[str, Any], run: JobRun, deadline: float) -> None:
    """Connect, send `execute`, read until the close; every line is checked and timed."""
    pending = ""
    run.job_id = job["job_id"]
    try:
        async with asyncio.timeout_at(deadline):
            ws = await connect(url)
            try:
                await ws.send(execute_message(job, program(run.kind)))
                while True:
                    try:
                        raw = await ws.recv()
                    except ConnectionClosed as closed:
                        run.close = closed.rcvd.code if closed.rcvd else None
                        break
                    now = time.time()
                    event = json.loads(raw)
                    if event["type"] == "output" and event["stream"] == "stdout":
                        pending += event["data"]
                        *lines, pending = pending.split("\n")
                        for line in lines:
                            number, stamp = line.split()
                            run.seen.append(int(number))
                            run.latencies.append(now - float(stamp))
                    elif event["type"] == "complete":
                        run.completes += 1
                        run.status = event["status"]
                        run.finished = time.monotonic()
                    elif event["type"] != "warning":
                        run.problem = f"unexpected {_short(raw)}"
            finally:
                await ws.close()
    except TimeoutError:
        run.problem = run.problem or "no end before the deadline"
    except (OSError, InvalidHandshake, ValueError) as exc:
        run.problem = run.problem or f"{type(exc).__name__}: {exc}"
    if pending and not run.problem:
        run.problem = f"an unfinished line at the end: {_short(pending)}"


def _short(text: Any, limit: int = 120) -> str:
    shown = str(text)
    return shown if len(shown) <= limit else shown[:limit] + "..."


# -- one waiting connection ----------------------------------------------------------------------


class Countdown:
    """Set once every waiting connection has been tried."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.event = asyncio.Event()
        if count <= 0:
            self.event.set()

    def tick(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.event.set()


@dataclass
class Hold:
    opened: bool = False
    problem: str = ""


async def hold(
    url: str,
    job: dict[str, Any],
    gate: asyncio.Semaphore,
    tried: Countdown,
    send: asyncio.Event,
    stop: asyncio.Event,
    result: Hold,
    deadline: float,
) -> None:
    """Open, wait for `send`, send an `execute` whose job queues behind the measured ones, then
    expect nothing at all until `stop`; then close (which kills the job)."""
    try:
        async with asyncio.timeout_at(deadline):
            async with gate:
                try:
                    ws = await connect(url)
                finally:
                    tried.tick()
            result.opened = True
            try:
                await send.wait()
                await ws.send(execute_message(job, WAITING_PROGRAM))
                receive = asyncio.ensure_future(ws.recv())
                stopped = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait(
                    {receive, stopped}, return_when=asyncio.FIRST_COMPLETED
                )
                if receive in done:
                    stopped.cancel()
                    try:
                        result.problem = f"a message before the end: {_short(receive.result())}"
                    except ConnectionClosed as closed:
                        code = closed.rcvd.code if closed.rcvd else None
                        result.problem = f"closed before the end, code {code}"
                else:
                    receive.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await receive
            finally:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await ws.close()
    except TimeoutError:
        result.problem = result.problem or "timed out"
    except (OSError, InvalidHandshake) as exc:
        result.problem = result.problem or f"{type(exc).__name__}: {exc}"


# -- sampling the gateway ------------------------------------------------------------------------


@dataclass
class Samples:
    rss_kb: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    redis_clients: list[int] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, CPU seconds)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def sample_rss(pid: int, samples: Samples, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError):
            samples.rss_kb.append(vm_rss_kb(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_RSS_S)


async def sample_fds(pid: int, redis_url: str, samples: Samples, stop: asyncio.Event) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                samples.fds.append(len(os.listdir(f"/proc/{pid}/fd")))
                samples.cpu.append((time.monotonic(), cpu_seconds(pid)))
            with contextlib.suppress(aioredis.RedisError, OSError):
                info = await client.info("clients")
                samples.redis_clients.append(int(info["connected_clients"]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_FDS_S)
    finally:
        await client.aclose()


# -- the benchmark -------------------------------------------------------------------------------


@dataclass
class Outcome:
    runs: list[JobRun]
    holds: list[Hold]
    samples: Samples
    rss_before_kb: int
    wall_s: float
    window_s: float | None
    phases: dict[str, float]


async def create_jobs(url: str, api_key: str, count: int) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(CREATE_CONCURRENCY)
    limits = httpx.Limits(max_connections=CREATE_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, trust_env=False) as http:

        async def one() -> dict[str, Any]:
            async with gate:
                reply = await http.post("/api/jobs/create", headers={"X-API-Key": api_key})
            if reply.status_code != 200:
                raise BenchError(f"POST /api/jobs/create: {reply.status_code} {reply.text[:300]}")
            return dict(reply.json())

        return list(await asyncio.gather(*(one() for _ in range(count))))


def jti_of(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


async def wait_admitted(redis_url: str, prefix: str, jobs: list[dict[str, Any]]) -> int:
    """Until every job's token is spent (docs/protocol.md: `SET <prefix>:jti:<jti> NX`), which
    the gateway does just before it queues the job, or ADMISSION_WAIT_S; how many were spent.
    A job that is never admitted shows as a failed measured job in the report."""
    keys = [f"{prefix}:jti:{jti_of(job['job_token'])}" for job in jobs]
    client = aioredis.Redis.from_url(redis_url)
    spent = 0
    try:
        async with asyncio.timeout(ADMISSION_WAIT_S):
            while spent < len(keys):
                await asyncio.sleep(0.05)
                spent = 0
                for start in range(0, len(keys), 500):
                    spent += int(await client.exists(*keys[start : start + 500]))
    except TimeoutError:
        pass
    finally:
        await client.aclose()
    await asyncio.sleep(0.2)  # from the token's spending to the XADD to the queue: a few awaits
    return spent


async def bench(stack: Stack, connections: int, jobs: int, limit_s: float) -> Outcome:
    started = time.monotonic()
    deadline = asyncio.get_running_loop().time() + limit_s
    phases: dict[str, float] = {}
    pid = stack.pid("gateway")
    samples, stop_sampling = Samples(), asyncio.Event()
    rss_before = vm_rss_kb(pid)
    samplers = [
        asyncio.create_task(sample_rss(pid, samples, stop_sampling)),
        asyncio.create_task(sample_fds(pid, stack.redis_url, samples, stop_sampling)),
    ]
    try:
        created = await create_jobs(stack.url, stack.api_key, connections)
        phases["create"] = time.monotonic() - started
        measured, waiting = created[:jobs], created[jobs:]

        gate, send, stop = asyncio.Semaphore(CONNECT_CONCURRENCY), asyncio.Event(), asyncio.Event()
        holds = [Hold() for _ in waiting]
        tried = Countdown(len(holds))
        held = [
            asyncio.create_task(hold(stack.ws_url, job, gate, tried, send, stop, h, deadline))
            for job, h in zip(waiting, holds, strict=True)
        ]
        async with asyncio.timeout_at(deadline):
            await tried.event.wait()
        phases["open_waiting"] = time.monotonic() - started

        runs = [JobRun(k, PACED_LINES if k == "paced" else BURST_LINES) for k in kinds(jobs)]
        window_start = time.monotonic()
        running = [
            asyncio.create_task(run_job(stack.ws_url, job, run, deadline))
            for job, run in zip(measured, runs, strict=True)
        ]
        admitted = await wait_admitted(stack.redis_url, stack.prefix, measured)
        phases["measured_admitted"] = time.monotonic() - started
        if admitted < len(measured):
            print(f"only {admitted} of {len(measured)} measured jobs admitted", file=sys.stderr)
        send.set()
        await asyncio.gather(*running)
        finished = [r.finished for r in runs if r.finished is not None]
        window = max(finished) - window_start if finished else None
        phases["measured_done"] = time.monotonic() - started
        stop.set()
        await asyncio.gather(*held)
        phases["closed"] = time.monotonic() - started
    finally:
        stop_sampling.set()
        await asyncio.gather(*samplers, return_exceptions=True)
    return Outcome(runs, holds, samples, rss_before, time.monotonic() - started, window, phases)


def kinds(jobs: int) -> list[str]:
    return ["paced" if i % 2 == 0 else "burst" for i in range(jobs)]


# -- reporting -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def summarize(outcome: Outcome, args: argparse.Namespace, concurrency: int) -> dict[str, Any]:
    runs, holds, samples = outcome.runs, outcome.holds, outcome.samples
    every = [x for r in runs for x in r.latencies]
    paced = [x for r in runs if r.kind == "paced" for x in r.latencies]
    lines = sum(r.lines for r in runs)
    failed_runs = [r for r in runs if not r.ok]
    dropped = [h for h in holds if h.problem or not h.opened]
    held = len(runs) - sum(bool(r.problem) for r in runs) + len(holds) - len(dropped)
    return {
        "machine": machine_info(),
        "settings": {"WORKER_CONCURRENCY": str(concurrency), **SETTINGS},
        "connections": args.connections,
        "jobs": args.jobs,
        "mix": {
            "measured_jobs": len(runs),
            "paced": f"{PACED_LINES} lines, {PACED_SLEEP_S * 1000:.0f} ms apart",
            "burst": f"{BURST_LINES} lines at once",
            "waiting_connections": len(holds),
        },
        "connections_held": held,
        "waiting_dropped": len(dropped),
        "measured_ok": len(runs) - len(failed_runs),
        "events_expected": lines + len(runs),
        "lost_events": sum(r.lost for r in runs),
        "latency_ms": {
            "p50": ms(percentile(every, 0.5)),
            "p99": ms(percentile(every, 0.99)),
            "max": ms(max(every) if every else None),
            "paced_p50": ms(percentile(paced, 0.5)),
            "paced_p99": ms(percentile(paced, 0.99)),
            "samples": len(every),
        },
        "gateway_rss_mib": {
            "before": round(outcome.rss_before_kb / 1024, 1),
            "peak": round(max(samples.rss_kb, default=0) / 1024, 1),
            "samples": len(samples.rss_kb),
        },
        "gateway_cpu": cpu_summary(samples.cpu),
        "gateway_fds_peak": max(samples.fds, default=None),
        "redis_clients_peak": max(samples.redis_clients, default=None),
        "wall_s": round(outcome.wall_s, 2),
        "window_s": None if outcome.window_s is None else round(outcome.window_s, 2),
        "jobs_per_s": round(len(runs) / outcome.window_s, 2) if outcome.window_s else None,
        "phases_s": {k: round(v, 2) for k, v in outcome.phases.items()},
        "failures": [f"{r.kind} job: {describe(r)}" for r in failed_runs[:5]]
        + [f"waiting connection: {h.problem or 'not opened'}" for h in dropped[:5]],
    }


def cpu_summary(points: list[tuple[float, float]]) -> dict[str, float | None]:
    """CPU seconds the gateway used during the run, and its busiest second (1.0: one CPU)."""
    if len(points) < 2:
        return {"seconds": None, "busiest_1s": None}
    busiest = 0.0
    for i, (t0, c0) in enumerate(points):
        later = [(t, c) for t, c in points[i + 1 :] if t - t0 >= 1.0]
        if later:
            t1, c1 = later[0]
            busiest = max(busiest, (c1 - c0) / (t1 - t0))
    return {"seconds": round(points[-1][1] - points[0][1], 2), "busiest_1s": round(busiest, 2)}


def describe(run: JobRun) -> str:
    return (
        f"job {run.job_id}: problem={run.problem!r} lost={run.lost} "
        f"lines={len(run.seen)}/{run.lines} completes={run.completes} status={run.status} "
        f"close={run.close}"
    )


def print_report(s: dict[str, Any]) -> None:
    m, lat, rss = s["machine"], s["latency_ms"], s["gateway_rss_mib"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, {m['date_utc']}")
    print(
        f"stack:   1 gateway, 1 worker (WORKER_CONCURRENCY={s['settings']['WORKER_CONCURRENCY']}),"
        f" redis-server, on 127.0.0.1"
    )
    mix = s["mix"]
    print(
        f"mix:     {s['connections']} connections = {mix['measured_jobs']} measured jobs (half "
        f"paced: {mix['paced']}; half burst: {mix['burst']}) + {mix['waiting_connections']} "
        f"waiting connections with a queued job\n"
    )
    rows = [
        ("connections held to the end", f"{s['connections_held']}/{s['connections']}"),
        ("measured jobs ok", f"{s['measured_ok']}/{s['jobs']}"),
        ("lost events", f"{s['lost_events']} (of {s['events_expected']}: lines + completes)"),
        ("event latency p50", _fmt_ms(lat["p50"])),
        ("event latency p99", _fmt_ms(lat["p99"])),
        ("event latency max", _fmt_ms(lat["max"])),
        ("  paced lines p50 / p99", f"{_fmt_ms(lat['paced_p50'])} / {_fmt_ms(lat['paced_p99'])}"),
        ("gateway RSS before / peak", f"{rss['before']} / {rss['peak']} MiB"),
        (
            "gateway CPU: total / busiest 1 s",
            f"{s['gateway_cpu']['seconds']} s / {s['gateway_cpu']['busiest_1s']} CPU",
        ),
        ("gateway open fds, peak", str(s["gateway_fds_peak"])),
        ("redis connected clients, peak", str(s["redis_clients_peak"])),
        ("wall time", f"{s['wall_s']} s"),
        ("measured window", f"{s['window_s']} s"),
        ("jobs/s (measured)", str(s["jobs_per_s"])),
    ]
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        print(f"{name:<{width}}{value}")
    phases = ", ".join(f"{k} {v} s" for k, v in s["phases_s"].items())
    print(f"\nphases (since start): {phases}")
    for line in s["failures"]:
        print(f"failure: {line}", file=sys.stderr)


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


# -- main ----------------------------------------------------------------------------------------


def raise_nofile() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--connections", type=int, default=1000, help="connections open at once (default 1000)"
    )
    parser.add_argument(
        "--jobs", type=int, default=200, help="measured jobs among them (default 200)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="the whole run's limit in s (default 600)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args()
    if args.jobs < 1 or args.connections < args.jobs:
        parser.error("need 1 <= --jobs <= --connections")
    return args


def run(args: argparse.Namespace) -> int:
    soft, hard = raise_nofile()
    needed = 2 * args.connections + 200
    if soft < needed:
        raise BenchError(f"RLIMIT_NOFILE is {soft} (hard {hard}); {needed} are needed")
    concurrency = len(os.sched_getaffinity(0))
    stack = Stack(worker_concurrency=concurrency, env=SETTINGS)
    try:
        stack.start()
        try:
            outcome = asyncio.run(bench(stack, args.connections, args.jobs, args.timeout))
        except BaseException:
            with contextlib.suppress(BenchError):
                stack.check_alive()
            print(f"gateway log, last lines:\n{stack.log_tail('gateway')}", file=sys.stderr)
            raise
        stack.check_alive()  # the gateway and the worker are still up after the load
    finally:
        stack.stop()
    summary = summarize(outcome, args, concurrency)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_report(summary)
    good = summary["lost_events"] == 0 and summary["connections_held"] == args.connections
    return 0 if good else 1


def main() -> int:
    args = parse_args()
    why = "its worker runs jobs as sandbox users in cgroups"
    return run_script("bench/load.py", why, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
