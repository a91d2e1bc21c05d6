"""The AST validation layer through the live gateway: a denied call is a clear `code_rejected`
error with rule, line and column; a warned one runs, with a `warning` message before the output."""

from __future__ import annotations

import pytest
import websockets

from tests.client import JobConnection, create_job, execute_message, run
from tests.conftest import Stack

pytestmark = pytest.mark.e2e


async def test_denied_code_is_rejected_with_its_place(stack: Stack) -> None:
    out = await run(stack, "python", "import math\nimport subprocess\nsubprocess.run(['id'])\n")
    error = out.error
    assert error["code"] == "code_rejected"
    assert out.close_code == 1008
    first = error["violations"][0]
    assert first["rule"] == "py.subprocess"
    assert (first["line"], first["col"]) == (2, 8)  # the module name in `import subprocess`
    assert first["file"] == "main.py" and first["action"] == "deny"
    assert not [e for e in out.events if e["type"] in ("output", "complete")]


@pytest.mark.parametrize(
    ("language", "code", "rule"),
    [
        ("javascript", "require('child_process').execSync('id');\n", "js.child-process"),
        ("c", '#include <stdlib.h>\nint main(void){ return system("id"); }\n', "c.exec"),
        ("cpp", 'int main(){ asm("nop"); }\n', "cpp.asm"),
        (
            "rust",
            'fn main(){ std::process::Command::new("id").status().unwrap(); }\n',
            "rust.process-command",
        ),
    ],
)
async def test_each_language_is_validated(
    stack: Stack, language: str, code: str, rule: str
) -> None:
    out = await run(stack, language, code)
    assert out.error["code"] == "code_rejected"
    assert rule in {v["rule"] for v in out.error["violations"]}


async def test_warned_code_runs_after_a_warning(stack: Stack) -> None:
    code = 'fn main() { let x = 5; let p = &x as *const i32; println!("{}", unsafe { *p }); }\n'
    out = await run(stack, "rust", code)
    assert out.events[0]["type"] == "warning"
    assert out.events[0]["violations"][0]["rule"] == "rust.unsafe"
    assert out.stdout == "5\n"
    assert out.status == "ok"


async def test_rejection_does_not_spend_the_token(stack: Stack) -> None:
    job = await create_job(stack)
    async with websockets.connect(stack.ws_url) as ws:
        conn = JobConnection(ws)
        await conn.send(execute_message(job, "python", "import socket\n"))
        assert (await conn.finish()).error["code"] == "code_rejected"
    async with websockets.connect(stack.ws_url) as ws:
        conn = JobConnection(ws)
        await conn.send(execute_message(job, "python", "print('fixed')\n"))
        assert (await conn.finish()).stdout == "fixed\n"


async def test_ordinary_competitive_programs_pass(stack: Stack) -> None:
    code = (
        "import sys, math, collections, itertools\n"
        "data = sys.stdin.read().split()\n"
        "print(sum(map(int, data)), math.isqrt(16), len(list(itertools.permutations('ab'))))\n"
        "with open('main.py') as f:\n"
        "    print(len(f.readline()) > 0)\n"
    )
    out = await run(stack, "python", code, stdin="1 2 3\n", eof=True)
    assert out.stdout == "6 4 2\nTrue\n"
