"""The language table: names, aliases, file names, and the compile and run command lines.

Pure. Commands are argv templates run inside the sandbox from the job directory; `{tool}` is the
toolchain binary the worker found at start, `{main}` the entry file, `{sources}` the source files.
No user-supplied string is placed among compiler flags but file names that passed the filename
rules (as plain operands) and `{options}`: whole options that lib.options allowed, each matched
against the language's allow-list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lib.errors import InvalidRequest
from lib.protocol import ErrorCode

BINARY = "main"  # the compiled program's file name in the job directory


@dataclass(frozen=True)
class Language:
    name: str
    aliases: tuple[str, ...]
    default_file: str
    source_suffixes: tuple[str, ...]
    tool: str  # binary name looked up on the sandbox PATH
    version_args: tuple[str, ...]
    compile: tuple[str, ...] | None
    run: tuple[str, ...]
    line_buffered_stdio: bool = False  # link our stdio object (see services/worker/native)
    run_env: dict[str, str] = field(default_factory=dict)

    @property
    def compiled(self) -> bool:
        return self.compile is not None


LANGUAGES: dict[str, Language] = {
    lang.name: lang
    for lang in (
        Language(
            name="python",
            aliases=("py", "python3"),
            default_file="main.py",
            source_suffixes=(".py",),
            tool="python3",
            version_args=("--version",),
            compile=None,
            # -u: unbuffered, so output streams live; -B: no .pyc files in the job directory.
            run=("{tool}", "-u", "-B", "{main}"),
        ),
        Language(
            name="javascript",
            aliases=("js", "node", "nodejs"),
            default_file="main.js",
            source_suffixes=(".js", ".mjs", ".cjs"),
            tool="node",
            version_args=("--version",),
            compile=None,
            run=("{tool}", "{main}"),
        ),
        Language(
            name="c",
            aliases=(),
            default_file="main.c",
            source_suffixes=(".c",),
            tool="gcc",
            version_args=("--version",),
            # C11 as the language, with POSIX.1-2008 and the BSD/SVID extras (usleep, strdup,
            # getline, clock_gettime, fileno) visible, as on a plain `gcc` (gnu17) of the user's
            # own machine: -std=c11 defines __STRICT_ANSI__, which hides all of them
            # (feature_test_macros(7): _DEFAULT_SOURCE implies _POSIX_C_SOURCE=200809L).
            # C++ needs nothing: g++ always defines _GNU_SOURCE (libstdc++ requires it).
            compile=(
                "{tool}",
                "-std=c11",
                "-D_DEFAULT_SOURCE",
                "-O2",
                "-pipe",
                "{options}",
                "-o",
                BINARY,
                "{sources}",
                "{stdio}",
                "-lm",
            ),
            run=("./" + BINARY,),
            line_buffered_stdio=True,
        ),
        Language(
            name="cpp",
            aliases=("c++", "cxx"),
            default_file="main.cpp",
            source_suffixes=(".cpp", ".cc", ".cxx"),
            tool="g++",
            version_args=("--version",),
            compile=(
                "{tool}",
                "-std=c++17",
                "-O2",
                "-pipe",
                "{options}",
                "-o",
                BINARY,
                "{sources}",
                "{stdio}",
            ),
            run=("./" + BINARY,),
            line_buffered_stdio=True,
        ),
        Language(
            name="rust",
            aliases=("rs",),
            default_file="main.rs",
            source_suffixes=(".rs",),
            tool="rustc",
            version_args=("--version",),
            compile=("{tool}", "--edition", "2021", "-O", "{options}", "-o", BINARY, "{main}"),
            run=("./" + BINARY,),
        ),
    )
}

_BY_ALIAS = {alias: lang for lang in LANGUAGES.values() for alias in (lang.name, *lang.aliases)}


def resolve(name: str) -> Language:
    """The language for a name or alias, case-insensitive; InvalidRequest if unknown."""
    lang = _BY_ALIAS.get(name.strip().lower())
    if lang is None:
        known = ", ".join(sorted(LANGUAGES))
        raise InvalidRequest(
            f"unknown language {name[:40]!r}; supported: {known}",
            code=ErrorCode.UNSUPPORTED_LANGUAGE,
        )
    return lang


def expand(
    template: tuple[str, ...],
    *,
    tool: str,
    main: str,
    sources: list[str],
    stdio: str | None = None,
    options: list[str] | None = None,
) -> list[str]:
    """Fill an argv template. Placeholders stand alone in their element; lists expand in place."""
    argv: list[str] = []
    for part in template:
        if part == "{tool}":
            argv.append(tool)
        elif part == "{main}":
            argv.append(main)
        elif part == "{sources}":
            argv.extend(sources)
        elif part == "{stdio}":
            if stdio:
                argv.append(stdio)
        elif part == "{options}":
            argv.extend(options or [])  # lib.options: allowed, whole options only
        else:
            argv.append(part)
    return argv
