"""Finds each language's compiler or interpreter as the sandbox user would, and its version."""

from __future__ import annotations

import logging
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lib.errors import ConfigError
from lib.languages import LANGUAGES, Language
from services.worker.sandbox import SANDBOX_PATH

log = logging.getLogger(__name__)

VERSION_TIMEOUT_S = 20


@dataclass(frozen=True)
class Toolchain:
    language: Language
    path: str
    version: str


def _world_usable(path: Path) -> bool:
    """Executable by others, and every parent directory searchable by others (not under /root)."""
    try:
        if not path.stat().st_mode & stat.S_IXOTH:
            return False
        return all(p.stat().st_mode & stat.S_IXOTH for p in path.resolve().parents)
    except OSError:
        return False


def find_tool(name: str) -> str | None:
    for directory in SANDBOX_PATH.split(":"):
        candidate = Path(directory) / name
        if candidate.is_file() and _world_usable(candidate):
            return str(candidate)
    return None


def _version(path: str, args: tuple[str, ...]) -> str | None:
    try:
        done = subprocess.run(
            [path, *args],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            env={"PATH": SANDBOX_PATH},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if done.returncode == 0 and text else None


def detect(enabled: list[str] | None = None) -> dict[str, Toolchain]:
    """Every language whose toolchain works here (of `enabled`, if given); missing ones are
    logged and left out, and their jobs get a `language_unavailable` error."""
    unknown = set(enabled or []) - set(LANGUAGES)
    if unknown:
        raise ConfigError(f"LANGUAGES names unknown languages: {', '.join(sorted(unknown))}")
    found: dict[str, Toolchain] = {}
    for lang in LANGUAGES.values():
        if enabled is not None and lang.name not in enabled:
            log.info("language %s: disabled by LANGUAGES", lang.name)
            continue
        path = find_tool(lang.tool)
        version = _version(path, lang.version_args) if path else None
        if path is None or version is None:
            log.warning(
                "language %s unavailable: %s not found on %s", lang.name, lang.tool, SANDBOX_PATH
            )
            continue
        found[lang.name] = Toolchain(lang, path, version)
        log.info("language %s: %s (%s)", lang.name, version, path)
    return found
