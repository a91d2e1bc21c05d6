"""Fail closed: before claiming any job, prove that the sandbox really sandboxes.

Firejail silently runs a program with no sandbox inside some containers, and `--quiet` hides the
warning. So the worker runs a probe in a real stage and refuses to start unless, inside it,
/proc/self/status shows a seccomp filter (Seccomp: 2), no_new_privs, no effective capabilities, a
UID that is neither root nor the worker's, and a network namespace other than the worker's.
"""

from __future__ import annotations

import asyncio
import os
import re

from lib.errors import SandboxError
from lib.jobs import StageLimits
from services.worker.cleanup import Cleanup
from services.worker.sandbox import Slot
from services.worker.sandboxes import Sandbox, StageRequest

PROBE = ["/bin/sh", "-c", "cat /proc/self/status; echo net=$(readlink /proc/self/ns/net)"]
EXPECT = {"Seccomp": "2", "NoNewPrivs": "1", "CapEff": "0000000000000000"}
PROBE_LIMITS = StageLimits(
    wall_s=20,
    cpu_s=5,
    memory_mb=64,
    processes=8,
    open_files=64,
    file_size_mb=1,
    output_kb=64,
)


def check_probe(output: str, worker_uid: int, worker_net: str) -> list[str]:
    """The reasons the probe's output shows no real sandbox (empty when all is well). Pure."""
    fields = dict(re.findall(r"^(\w+):\s*(.*)$", output, flags=re.M))
    problems = [
        f"{name} is {fields.get(name, 'missing')!r}, expected {want!r}"
        for name, want in EXPECT.items()
        if fields.get(name, "").strip() != want
    ]
    uids = fields.get("Uid", "").split()
    if not uids or any(int(u) in (0, worker_uid) for u in uids):
        problems.append(f"the probe ran with UIDs {uids or 'unknown'}, which include root or ours")
    net = re.search(r"^net=(.*)$", output, flags=re.M)
    if net is None or net.group(1).strip() in ("", worker_net):
        problems.append("the probe shares the worker's network namespace")
    return problems


async def run_self_test(sandbox: Sandbox, slot: Slot, host_net: str) -> None:
    """Raise SandboxError unless the probe shows every property of a real sandbox."""
    chunks: list[str] = []

    async def collect(stream: str, text: str) -> None:
        chunks.append(text)

    cleanup = Cleanup()
    try:
        job_dir = await sandbox.create_dir(slot, "selftest", [], cleanup, last=False)
        request = StageRequest(slot, job_dir, "selftest", PROBE, PROBE_LIMITS, ("out", "out"))
        result = await sandbox.run_stage(request, collect, None, asyncio.Event(), cleanup)
    finally:
        await cleanup.run()
    output = "".join(chunks)
    problems = check_probe(output, os.geteuid(), host_net)
    if result.reaper is None or result.reaper.exit_code != 0:
        problems.append(f"the probe failed: {output[-500:]!r}")
    if problems:
        raise SandboxError("sandbox self-test failed: " + "; ".join(problems))
