"""End to end: the job options the compatible APIs stand on (issue 9), on the real stack:
signals delivered to the program, `stage` events, stderr merged into stdout, allowed compiler
options, data files in base64, CPU-time and compile limits."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.client import open_job, run
from tests.conftest import Stack

pytestmark = pytest.mark.e2e

TRAP = """import signal, sys, time
def on_signal(number, frame):
    print("got", signal.Signals(number).name, flush=True)
    sys.exit(7)
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGUSR1, on_signal)
print("ready", flush=True)
time.sleep(20)
print("no signal came")
"""


async def execute(stack: Stack, body: dict[str, object]) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
        reply = await http.post("/api/execute", json=body, headers={"X-API-Key": stack.api_key})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


@pytest.mark.parametrize("name", ["SIGINT", "SIGUSR1"])
async def test_a_signal_reaches_the_program_and_not_its_supervisor(stack: Stack, name: str) -> None:
    async with open_job(stack, "python", TRAP) as conn:
        await conn.wait_for_output("ready\n")
        await conn.send({"type": "signal", "signal": name})
        out = await conn.finish(timeout=15)
    assert out.stdout == f"ready\ngot {name}\n", out.summary()
    done = out.complete
    assert done["status"] == "runtime_error" and done["exit_code"] == 7, done


async def test_a_signal_that_may_not_be_sent_is_refused(stack: Stack) -> None:
    async with open_job(stack, "python", TRAP) as conn:
        await conn.wait_for_output("ready\n")
        await conn.send({"type": "signal", "signal": "SIGKILL"})
        out = await conn.finish(timeout=15)
    assert out.error["code"] == "invalid_request", out.summary()
    assert out.close_code == 1007


async def test_stage_events_frame_each_stage(stack: Stack) -> None:
    code = '#include <stdio.h>\nint main(void) { puts("hi"); return 3; }\n'
    out = await run(stack, "c", code, stage_events=True)
    stages = [(e["stage"], e["event"]) for e in out.events if e["type"] == "stage"]
    assert stages == [("compile", "start"), ("compile", "end"), ("run", "start"), ("run", "end")]
    ends = [e for e in out.events if e["type"] == "stage" and e["event"] == "end"]
    assert ends[0]["status"] == "ok" and ends[0]["exit_code"] == 0
    assert ends[1]["status"] == "runtime_error" and ends[1]["exit_code"] == 3
    kinds = [e["type"] for e in out.events]
    assert kinds.index("output") > kinds.index("stage") and kinds[-1] == "complete"


async def test_without_stage_events_a_job_looks_as_it_always_did(stack: Stack) -> None:
    out = await run(stack, "c", '#include <stdio.h>\nint main(void) { puts("hi"); }\n')
    assert {e["type"] for e in out.events} == {"output", "complete"}, out.summary()


async def test_the_result_keeps_each_stage_outcome(stack: Stack) -> None:
    result = await execute(stack, {"language": "c", "code": "int main(void) { return 0; }"})
    assert [(s["stage"], s["status"]) for s in result["stages"]] == [
        ("compile", "ok"),
        ("run", "ok"),
    ]
    assert result["stages"][1]["memory_kb"] > 0


async def test_merged_stderr_arrives_in_stdout_in_order(stack: Stack) -> None:
    code = (
        "import sys\n"
        "for i in range(3):\n"
        "    print(i, flush=True)\n"
        "    print('e', i, file=sys.stderr, flush=True)\n"
    )
    result = await execute(stack, {"language": "python", "code": code, "merge_stderr": True})
    assert result["stdout"] == "0\ne 0\n1\ne 1\n2\ne 2\n" and result["stderr"] == "", result


async def test_allowed_compiler_options_reach_the_compiler(stack: Stack) -> None:
    code = '#include <stdio.h>\nint main(void) { printf("%d\\n", VALUE); }\n'
    body = {"language": "c", "code": code, "compiler_options": ["-DVALUE=42", "-O0", "-Wall"]}
    result = await execute(stack, body)
    assert result["status"] == "ok" and result["stdout"] == "42\n", result


@pytest.mark.parametrize("option", ["-o/tmp/x", "-fplugin=x.so", "-Wl,-T,x", "@args", "-B/tmp"])
async def test_other_compiler_options_are_refused(stack: Stack, option: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        body = {"language": "c", "code": "int main(void){}", "compiler_options": [option]}
        reply = await http.post("/api/execute", json=body, headers={"X-API-Key": stack.api_key})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "invalid_request"


async def test_a_base64_data_file_arrives_byte_for_byte(stack: Stack) -> None:
    data = bytes(range(256))
    files = [
        {
            "name": "main.py",
            "content": "print(list(open('blob.bin','rb').read()) == list(range(256)))",
        },
        {"name": "blob.bin", "content": base64.b64encode(data).decode(), "encoding": "base64"},
    ]
    result = await execute(stack, {"language": "python", "files": files})
    assert result["stdout"] == "True\n", result


async def test_a_base64_source_file_is_validated_like_text(stack: Stack) -> None:
    hidden = base64.b64encode(b"import subprocess\n").decode()
    files = [
        {"name": "main.py", "content": "import helper"},
        {"name": "helper.py", "content": hidden, "encoding": "base64"},
    ]
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        body = {"language": "python", "files": files}
        reply = await http.post("/api/execute", json=body, headers={"X-API-Key": stack.api_key})
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "code_rejected"


async def test_cpu_time_limit_apart_from_wall_clock(stack: Stack) -> None:
    body = {
        "language": "python",
        "code": "while True: pass",
        "limits": {"time_s": 8, "cpu_s": 1},
    }
    result = await execute(stack, body)
    assert result["status"] == "timeout" and float(str(result["execution_time"])) < 5, result


async def test_a_compile_limit_may_only_be_lowered(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        body = {"language": "c", "code": "int main(void){}", "compile_limits": {"time_s": 10_000}}
        reply = await http.post("/api/execute", json=body, headers={"X-API-Key": stack.api_key})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "limit_exceeded"


async def test_a_stack_limit_reaches_the_program(stack: Stack) -> None:
    code = "import resource\nprint(resource.getrlimit(resource.RLIMIT_STACK))\n"
    body = {"language": "python", "code": code, "limits": {"stack_kb": 4096}}
    result = await execute(stack, body)
    assert result["stdout"] == f"({4096 * 1024}, {4096 * 1024})\n", result


async def test_a_stack_limit_above_the_memory_limit_is_refused(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        body = {"language": "python", "code": "1", "limits": {"memory_mb": 64, "stack_kb": 70_000}}
        reply = await http.post("/api/execute", json=body, headers={"X-API-Key": stack.api_key})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "limit_exceeded"


@pytest.mark.parametrize(
    ("language", "main", "name"),
    [
        ("c", 'int main(void) {\n#include "code.h"\n}\n', "code.h"),
        ("cpp", '#include "code.h"\nint main() {}\n', "code.h"),
        ("python", "import mod\n", "mod.cpython-311-x86_64-linux-gnu.so"),
        ("python", "import mod\n", "mod.pyc"),
    ],
)
async def test_a_data_file_cannot_smuggle_unvalidated_code(
    stack: Stack, language: str, main: str, name: str
) -> None:
    """Hostile: code hidden in bytes that are not UTF-8 text (a comment with a 0xFF byte, here
    `system("id")` after it), sent as a data file the preprocessor or the import system would
    load, is refused like the code itself would be."""
    hidden = b'/* \xff */ system("id");\n'
    files = [
        {"name": "main." + {"c": "c", "cpp": "cpp", "python": "py"}[language], "content": main},
        {"name": name, "content": base64.b64encode(hidden).decode(), "encoding": "base64"},
    ]
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        body = {"language": language, "files": files}
        reply = await http.post("/api/execute", json=body, headers={"X-API-Key": stack.api_key})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["violations"][0]["file"] == name
