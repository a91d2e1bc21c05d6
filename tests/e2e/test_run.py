"""End to end: REST → gateway → Redis → worker → Firejail → back, with a real WebSocket client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.client import open_job, run
from tests.conftest import Stack
from tests.e2e import programs as p

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_hello_world(stack: Stack, language: str) -> None:
    out = await run(stack, language, p.HELLO[language])
    assert out.stdout == "hello, world\n"
    assert out.status == "ok"
    done = out.complete
    assert done["exit_code"] == 0 and done["signal"] is None
    assert done["execution_time"] > 0 and done["memory_kb"] > 0
    assert out.close_code == 1000


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_interactive_input_sent_before_start(stack: Stack, language: str) -> None:
    out = await run(stack, language, p.INTERACTIVE[language], inputs=["Ada\n", "36\n"])
    assert out.stdout == "Name: Age: Hello Ada, you are 36\n"
    assert out.status == "ok"


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_interactive_prompt_shows_before_input(stack: Stack, language: str) -> None:
    async with open_job(stack, language, p.INTERACTIVE[language]) as conn:
        # The prompt has no newline and the program now waits on stdin: it must arrive anyway.
        await conn.wait_for_output("Name: ")
        await conn.input("Grace\n")
        await conn.wait_for_output("Age: ")
        await conn.input("45\n")
        out = await conn.finish()
    assert out.stdout == "Name: Age: Hello Grace, you are 45\n"
    assert out.status == "ok"


@pytest.mark.parametrize("language", p.COMPILED)
async def test_compile_error(stack: Stack, language: str) -> None:
    out = await run(stack, language, p.COMPILE_ERROR[language])
    assert out.status == "compile_error"
    assert "error" in out.compile.lower()
    assert out.stdout == "" and out.stderr == ""
    assert out.close_code == 1000


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_runtime_error_exit_code(stack: Stack, language: str) -> None:
    out = await run(stack, language, p.RUNTIME_ERROR[language])
    assert out.stdout == "before\n"
    assert out.status == "runtime_error"
    assert out.complete["exit_code"] == 3


@pytest.mark.parametrize("language", list(p.SEGFAULT))
async def test_segfault_reports_signal(stack: Stack, language: str) -> None:
    out = await run(stack, language, p.SEGFAULT[language])
    assert out.status == "runtime_error"
    assert out.complete["signal"] == "SIGSEGV"
    assert out.complete["exit_code"] is None


async def test_python_exception_is_runtime_error(stack: Stack) -> None:
    out = await run(stack, "python", "raise ValueError('boom')\n")
    assert out.status == "runtime_error"
    assert out.complete["exit_code"] == 1
    assert "ValueError: boom" in out.stderr


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_stderr_kept_apart(stack: Stack, language: str) -> None:
    out = await run(stack, language, p.STDERR[language])
    assert out.stdout == "to out\n"
    assert out.stderr == "to err\n"


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_eof_ends_program_reading_to_end(stack: Stack, language: str) -> None:
    async with open_job(stack, language, p.READ_ALL[language]) as conn:
        await conn.input("one\ntwo\n")
        await asyncio.sleep(0.3)
        await conn.input("three\n")
        await conn.send({"type": "eof"})
        out = await conn.finish()
    assert out.stdout == "3 14\n"
    assert out.status == "ok"


CORPUS = Path(__file__).resolve().parent.parent / "validation_corpus" / "ordinary"


@pytest.mark.parametrize(
    ("language", "name"), [("c", "c/posix_clock_getline.c"), ("cpp", "cpp/posix_clock_getline.cpp")]
)
async def test_everyday_posix_compiles(stack: Stack, language: str, name: str) -> None:
    """clock_gettime, CLOCK_MONOTONIC, strdup, getline, fileno, usleep, nanosleep: what a plain
    gcc on the user's own Linux machine offers, with C11 kept as the language standard."""
    code = (CORPUS / name).read_text()
    out = await run(stack, language, code, stdin="1\n2\n39\n", eof=True)
    assert out.compile == "", out.compile
    assert out.status == "ok", out.summary()
    assert out.stdout.startswith("sum 42 fd 1")


async def test_initial_stdin_field(stack: Stack) -> None:
    out = await run(stack, "python", p.READ_ALL["python"], stdin="a\nb\n", eof=True)
    assert out.stdout == "2 4\n"


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_timeout(stack: Stack, language: str) -> None:
    started = time.monotonic()
    out = await run(stack, language, p.CPU_LOOP[language], limits={"time_s": 1})
    assert out.status == "timeout"
    assert time.monotonic() - started < 15
    assert out.close_code == 1000


async def test_sleeping_program_times_out_on_wall_clock(stack: Stack) -> None:
    out = await run(stack, "python", p.SLEEP_FOREVER["python"], limits={"time_s": 1})
    assert out.stdout == "started\n"
    assert out.status == "timeout"
    assert 0.9 <= out.complete["execution_time"] < 5


@pytest.mark.parametrize("language", list(p.SLEEP_FOREVER))
async def test_kill(stack: Stack, language: str) -> None:
    async with open_job(stack, language, p.SLEEP_FOREVER[language]) as conn:
        await conn.wait_for_output("started\n")
        killed_at = time.monotonic()
        await conn.send({"type": "kill"})
        out = await conn.finish()
    assert out.status == "killed"
    assert time.monotonic() - killed_at < 3


async def test_output_streams_live(stack: Stack) -> None:
    code = 'import time\nprint("first")\ntime.sleep(1.5)\nprint("second")\n'
    async with open_job(stack, "python", code) as conn:
        started = time.monotonic()
        await conn.wait_for_output("first\n")
        first_at = time.monotonic() - started
        out = await conn.finish()
    assert first_at < 1.2, "the first line must arrive before the program ends"
    assert out.stdout == "first\nsecond\n"


async def test_utf8_split_across_writes_arrives_whole(stack: Stack) -> None:
    # "é" is two bytes, "€" three; each is written a byte at a time with pauses in between.
    code = (
        "import os, time\n"
        "for ch in 'é€':\n"
        "    for b in ch.encode():\n"
        "        os.write(1, bytes([b]))\n"
        "        time.sleep(0.05)\n"
    )
    out = await run(stack, "python", code)
    assert out.stdout == "é€"
    assert "\ufffd" not in out.stdout


async def test_args_and_multiple_files(stack: Stack) -> None:
    files = [
        {"name": "main.py", "content": "import sys, helper\nprint(helper.shout(sys.argv[1:]))\n"},
        {"name": "helper.py", "content": "def shout(words):\n    return ' '.join(words).upper()\n"},
    ]
    out = await run(stack, "python", None, files=files, args=["a b", "c"])
    assert out.stdout == "A B C\n"


async def test_multi_file_c(stack: Stack) -> None:
    files = [
        {
            "name": "main.c",
            "content": (
                '#include <stdio.h>\nint twice(int);\nint main(void){printf("%d\\n", twice(21));}\n'
            ),
        },
        {"name": "twice.c", "content": "int twice(int x) { return 2 * x; }\n"},
    ]
    out = await run(stack, "c", None, files=files)
    assert out.stdout == "42\n"


async def test_program_sees_only_a_minimal_environment(stack: Stack) -> None:
    out = await run(stack, "python", "import os\nprint(sorted(os.environ))\n")
    assert out.stdout == "['HOME', 'LANG', 'PATH']\n"


async def test_program_does_not_run_as_root(stack: Stack) -> None:
    out = await run(
        stack, "python", "import os\nprint(os.getuid(), os.geteuid(), os.getgroups())\n"
    )
    uid, euid, *_ = out.stdout.split()
    assert int(uid) != 0 and int(euid) != 0
    assert out.stdout.strip().endswith("[]")


async def test_memory_limit(stack: Stack) -> None:
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(8 * 1024 * 1024))\n"
    out = await run(stack, "python", code, limits={"memory_mb": 64})
    assert out.status == "memory_limit"


async def test_output_limit(stack: Stack) -> None:
    out = await run(
        stack, "python", "while True:\n    print('x' * 1000)\n", limits={"output_kb": 64}
    )
    assert out.status == "output_limit"
    assert len(out.stdout.encode()) <= 64 * 1024


async def test_no_network(sandbox_stack: Stack) -> None:
    stack = sandbox_stack  # validation off: the sandbox alone must stop it
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('blocked', type(e).__name__)\n"
    )
    out = await run(stack, "python", code)
    assert out.stdout.startswith("blocked")


async def test_events_in_order_then_normal_close(stack: Stack) -> None:
    code = "for i in range(200):\n    print(i)\n"
    out = await run(stack, "python", code)
    assert out.stdout == "".join(f"{i}\n" for i in range(200))
    assert [e["type"] for e in out.events][-1] == "complete"
    assert out.close_code == 1000


async def test_concurrent_jobs(stack: Stack) -> None:
    outs = await asyncio.gather(*(run(stack, "python", f"print({i} * {i})\n") for i in range(6)))
    assert [o.stdout for o in outs] == [f"{i * i}\n" for i in range(6)]


async def test_cpu_time_limit_across_threads_is_timeout(stack: Stack) -> None:
    # Two threads burn CPU twice as fast as the wall clock runs: the CPU rlimit fires first.
    code = (
        "#include <pthread.h>\n"
        "static void *spin(void *arg) { volatile unsigned long i = 0; for (;;) i++; return arg; }\n"
        "int main(void) { pthread_t t; pthread_create(&t, 0, spin, 0); spin(0); }\n"
    )
    out = await run(stack, "c", code, limits={"time_s": 3})
    assert out.status == "timeout"
    assert out.complete["signal"] in ("SIGXCPU", None)
