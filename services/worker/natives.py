"""Builds the worker's small C helpers (see native/*.c) once, into a directory the sandbox can read.

Each file name carries a hash of its source and compiler flags, so a changed source is rebuilt and a
running worker never sees a half-written binary (built under a temporary name, then renamed).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

from lib.errors import SandboxError
from services.worker.sandbox import Natives

log = logging.getLogger(__name__)

SOURCE_DIR = Path(__file__).parent / "native"
CC = "gcc"
PROGRAM_FLAGS = ("-O2", "-Wall", "-Wextra", "-static")
OBJECT_FLAGS = ("-O2", "-Wall", "-Wextra", "-fPIC", "-c")


def _build(source: Path, out_dir: Path, flags: tuple[str, ...], suffix: str) -> str:
    digest = hashlib.sha256(source.read_bytes() + " ".join(flags).encode()).hexdigest()[:12]
    target = out_dir / f"cexec-{source.stem}-{digest}{suffix}"
    if target.exists():
        return str(target)
    tmp = out_dir / f".{target.name}.{os.getpid()}"
    try:
        subprocess.run(
            [CC, *flags, "-o", str(tmp), str(source)], check=True, capture_output=True, timeout=120
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise SandboxError(f"cannot build {source.name}: {exc} {detail.decode()[:500]}") from exc
    tmp.chmod(0o755 if not suffix else 0o644)
    tmp.rename(target)
    log.info("built %s", target)
    return str(target)


def ensure_natives(native_dir: str) -> Natives:
    out = Path(native_dir)
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o755)  # the sandbox users run the reaper and link the stdio object
    return Natives(
        enter=_build(SOURCE_DIR / "enter.c", out, PROGRAM_FLAGS, ""),
        reaper=_build(SOURCE_DIR / "reaper.c", out, PROGRAM_FLAGS, ""),
        stdio=_build(SOURCE_DIR / "stdio.c", out, OBJECT_FLAGS, ".o"),
    )
