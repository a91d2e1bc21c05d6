"""End to end: the Piston v2 API (/api/v2) against the live gateway, worker and Redis: REST in all
five languages, version ranges, Piston's errors, compile errors, limits; a plain WebSocket client
of /api/v2/connect (stdin, a real signal, every close code); and the official npm client
`piston-client`, unmodified, run by Node against a stack with PISTON_API=open."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import (
    ROOT,
    RedisServer,
    Service,
    Stack,
    free_port,
    scaled,
    service_env,
    start_service,
    start_stack,
    wait_until,
)
from tests.e2e import programs as p

pytestmark = pytest.mark.e2e

LANGUAGES = {"python": "python", "javascript": "javascript", "c": "c", "c++": "cpp", "rust": "rust"}
COMPAT = ROOT / "tests" / "compat" / "piston"
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
TRAP = """import signal, sys, time
def on_signal(number, frame):
    print("got", signal.Signals(number).name, flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, on_signal)
name = input()
print("hello", name, flush=True)
time.sleep(20)
print("no signal came")
"""


def http(stack: Stack, key: str | None = "", timeout: float = 60) -> httpx.AsyncClient:
    """A client of the stack; `key` "" is the stack's key sent raw (`Authorization: <key>`, as
    the public Piston's clients send it), None no key."""
    headers = {} if key is None else {"Authorization": key or stack.api_key}
    return httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=scaled(timeout))


async def execute(stack: Stack, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    async with http(stack) as client:
        return await client.post("/api/v2/execute", json=body, **kwargs)


def ok(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def message(reply: httpx.Response, status: int) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"message"}, body
    return str(body["message"])


def run_body(language: str, code: str, **fields: Any) -> dict[str, Any]:
    return {"language": language, "version": "*", "files": [{"content": code}], **fields}


@pytest.fixture(scope="module")
async def runtimes(stack: Stack) -> list[dict[str, Any]]:
    async with http(stack) as client:
        reply = await client.get("/api/v2/runtimes")
    assert reply.status_code == 200, reply.text
    return list(reply.json())


# -- REST ----------------------------------------------------------------------------------------


async def test_runtimes_are_our_five_languages_in_pistons_names(
    runtimes: list[dict[str, Any]],
) -> None:
    by_name = {rt["language"]: rt for rt in runtimes}
    assert set(by_name) == set(LANGUAGES)
    assert by_name["python"]["aliases"][:3] == ["py", "py3", "python3"]
    assert "runtime" not in by_name["python"] and "runtime" not in by_name["rust"]
    assert by_name["javascript"]["runtime"] == "node"
    assert by_name["c"]["runtime"] == by_name["c++"]["runtime"] == "gcc"
    assert by_name["c++"]["aliases"] == ["cpp", "g++"]
    assert all(SEMVER.match(rt["version"]) for rt in runtimes), runtimes
    assert by_name["c"]["version"] == by_name["c++"]["version"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v2/runtimes/", {"Authorization": "Bearer {key}"}),
        ("/api/v2/piston/runtimes", {"X-API-Key": "{key}"}),
        ("/api/v2/piston/runtimes/", {"Authorization": "{key}"}),
    ],
)
async def test_every_spelling_of_the_path_and_the_key(
    stack: Stack, runtimes: list[dict[str, Any]], path: str, headers: dict[str, str]
) -> None:
    sent = {k: v.format(key=stack.api_key) for k, v in headers.items()}
    async with http(stack, key=None) as client:
        reply = await client.get(path, headers=sent)
    assert reply.status_code == 200 and reply.json() == runtimes


@pytest.mark.parametrize("headers", [{}, {"Authorization": "wrong"}, {"X-API-Key": "wrong"}])
async def test_without_a_valid_key_a_401_in_pistons_shape(
    stack: Stack, headers: dict[str, str]
) -> None:
    async with http(stack, key=None) as client:
        for reply in (
            await client.get("/api/v2/runtimes", headers=headers),
            await client.post("/api/v2/execute", json=run_body("py", "1"), headers=headers),
        ):
            assert "API key" in message(reply, 401)


async def test_the_banner_packages_and_unknown_routes(
    stack: Stack, runtimes: list[dict[str, Any]]
) -> None:
    async with http(stack) as client:
        assert (await client.get("/api/v2")).json() == {"message": "Piston v3.1.1"}
        assert (await client.get("/api/v2/")).json() == {"message": "Piston v3.1.1"}
        for path in ("/api/v2/nope", "/api/v2/piston/nope/", "/api/v2/execute"):
            assert message(await client.get(path), 404) == "Not Found"
        packages = (await client.get("/api/v2/packages")).json()
        assert {p["language"] for p in packages} == {"python", "node", "gcc", "rust"}
        assert all(p["installed"] is True for p in packages)
        body = {"language": "python", "version": "3.12.0"}
        for method in ("POST", "DELETE"):
            reply = await client.request(method, "/api/v2/packages", json=body)
            assert "cannot be installed or removed" in message(reply, 403)
        # Our own routes are not shadowed: /api/runtimes keeps our shape.
        ours = await client.get("/api/runtimes", headers={"X-API-Key": stack.api_key})
        assert ours.status_code == 200 and "compiled" in ours.json()[0]


@pytest.mark.parametrize("language", list(LANGUAGES))
async def test_hello_world_in_every_language(
    stack: Stack, runtimes: list[dict[str, Any]], language: str
) -> None:
    body = ok(await execute(stack, run_body(language, p.HELLO[LANGUAGES[language]])))
    version = next(rt["version"] for rt in runtimes if rt["language"] == language)
    assert (body["language"], body["version"]) == (language, version)
    assert list(body) == (["compile"] if "compile" in body else []) + [
        "run",
        "language",
        "version",
    ]
    assert ("compile" in body) is (language in ("c", "c++", "rust"))
    run = body["run"]
    assert run["stdout"] == run["output"] == "hello, world\n"
    assert (run["code"], run["signal"], run["status"], run["message"]) == (0, None, None, None)
    assert run["stderr"] == ""
    assert run["wall_time"] >= 0 and run["cpu_time"] >= 0 and run["memory"] > 0
    if "compile" in body:
        assert body["compile"]["code"] == 0 and body["compile"]["status"] is None


@pytest.mark.parametrize("content_type", [None, "text/plain;charset=UTF-8"])
async def test_a_json_body_without_a_json_content_type(stack: Stack, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    raw = json.dumps(run_body("python", "print(1)")).encode()
    async with http(stack) as client:
        request = client.build_request("POST", "/api/v2/execute", content=raw, headers=headers)
        assert request.headers.get("content-type") == content_type  # none: httpx sends none
        reply = await client.send(request)
    assert ok(reply)["run"]["stdout"] == "1\n"


async def test_version_ranges(stack: Stack, runtimes: list[dict[str, Any]]) -> None:
    exact = next(rt["version"] for rt in runtimes if rt["language"] == "python")
    major, minor, _ = exact.split(".")
    for version in (exact, major, f"{major}.x", f"^{major}.{minor}", f">={major}.0", f"~{exact}"):
        body = ok(await execute(stack, {**run_body("py3", "print(2)"), "version": version}))
        assert body["version"] == exact and body["run"]["stdout"] == "2\n", version
    for version in ("2", f"<{exact}", "latest"):
        reply = await execute(stack, {**run_body("python", "1"), "version": version})
        assert message(reply, 400) == f"python-{version} runtime is unknown"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"version": "*", "files": []}, "language is required as a string"),
        ({"language": "python", "files": []}, "version is required as a string"),
        ({"language": "python", "version": "*"}, "files is required as an array"),
        ({**run_body("python", "1"), "files": [{}]}, "files[0].content is required as a string"),
        ({**run_body("cobol", "1")}, "cobol-* runtime is unknown"),
        (
            {**run_body("python", "1"), "files": [{"content": "AA==", "encoding": "base64"}]},
            "files must include at least one utf8 encoded file",
        ),
        (run_body("c", "1", run_timeout="5"), "If specified, run_timeout must be a number"),
        (  # the stack's EXECUTION_TIMEOUT is the default 10 s
            run_body("c", "1", run_timeout=10001),
            "run_timeout cannot exceed the configured limit of 10000",
        ),
        (run_body("c", "1", run_timeout=-1), "run_timeout must be non-negative"),
    ],
)
async def test_pistons_400s(stack: Stack, body: dict[str, Any], text: str) -> None:
    assert message(await execute(stack, body), 400) == text


async def test_bodies_that_are_not_json(stack: Stack) -> None:
    async with http(stack) as client:
        reply = await client.post("/api/v2/execute", content=b"{nope")
        assert message(reply, 400) == "the request is not valid JSON"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        reply = await client.post("/api/v2/execute", content=b"a=1", headers=form)
        assert message(reply, 415) == "requests must be of type application/json"
        huge = b'{"x": "' + b"a" * (2049 * 1024) + b'"}'
        assert "over 2048 KB" in message(await client.post("/api/v2/execute", content=huge), 413)


async def test_a_refused_code_is_a_400_with_the_findings(stack: Stack) -> None:
    reply = await execute(stack, run_body("python", "import os\nos.system('id')\n"))
    assert "os.system" in message(reply, 400)


async def test_a_compile_error_is_the_compile_stage_and_the_run(stack: Stack) -> None:
    body = ok(await execute(stack, run_body("c", "int main(void) { return 0 }\n")))
    compiled = body["compile"]
    assert compiled == body["run"]
    assert (compiled["code"], compiled["status"], compiled["signal"]) == (1, "RE", None)
    assert compiled["message"] == "Exited with error status 1"
    assert "error" in compiled["stderr"] and compiled["output"] == compiled["stderr"]
    assert compiled["stdout"] == ""


async def test_stdin_args_and_several_files(stack: Stack) -> None:
    files = [
        {
            "name": "main.py",
            "content": "import sys, helper\n"
            "print(repr(sys.stdin.read()), sys.argv[1:], helper.X)\n",
        },
        {"name": "helper.py", "content": "X = 42\n"},
    ]
    body = {
        "language": "python",
        "version": "3",
        "files": files,
        "stdin": "abc",
        "args": ["a b", "c"],
    }
    assert ok(await execute(stack, body))["run"]["stdout"] == "'abc\\n' ['a b', 'c'] 42\n"


async def test_a_runtime_error_and_a_fatal_signal(stack: Stack) -> None:
    run = ok(await execute(stack, run_body("python", "raise SystemExit(3)")))["run"]
    assert (run["code"], run["status"], run["message"]) == (3, "RE", "Exited with error status 3")
    code = "#include <signal.h>\nint main(void) { raise(SIGSEGV); return 0; }\n"
    run = ok(await execute(stack, run_body("c", code)))["run"]
    assert (run["code"], run["signal"], run["status"]) == (None, "SIGSEGV", "SG")
    assert run["message"] == "Caught fatal signal 11"


@pytest.mark.parametrize(
    ("code", "limits", "said"),
    [
        (
            "import time\ntime.sleep(5)\n",
            {"run_timeout": 800},
            "Time limit exceeded (wall clock)",
        ),
        (  # RLIMIT_CPU counts whole seconds: a CPU limit of 1 s, well before the wall's 5 s
            "while True:\n    pass\n",
            {"run_timeout": 5000, "run_cpu_time": 1000},
            "Time limit exceeded",
        ),
    ],
)
async def test_a_timeout(stack: Stack, code: str, limits: dict[str, int], said: str) -> None:
    run = ok(await execute(stack, run_body("python", code, **limits)))["run"]
    assert (run["status"], run["signal"], run["code"]) == ("TO", "SIGKILL", None)
    assert run["message"] == said
    assert run["wall_time"] < 4000


async def test_a_memory_limit_holds(stack: Stack) -> None:
    code = "x = bytearray(200 * 2**20)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\nprint('survived')\n"  # noqa: E501
    run = ok(await execute(stack, run_body("python", code, run_memory_limit=64 * 2**20)))["run"]
    assert "survived" not in run["stdout"]
    # The cgroup's OOM kill, as Isolate reports one: a fatal SIGKILL; our message says why.
    assert (run["status"], run["signal"], run["code"]) == ("SG", "SIGKILL", None), run
    assert run["message"] == "Memory limit exceeded"
    assert run["memory"] <= 70 * 2**20


async def test_outputs_up_to_our_caps_and_utf8_whole(stack: Stack) -> None:
    code = "import sys\nprint('é' * 50000)\nprint('€' * 3000, file=sys.stderr)\n"
    run = ok(await execute(stack, run_body("python", code)))["run"]
    assert run["stdout"] == "é" * 50000 + "\n"  # upstream cuts at 1024 characters
    assert run["stderr"] == "€" * 3000 + "\n"
    assert (run["status"], len(run["output"])) == (None, 53002)


async def test_more_output_than_the_cap_is_ol(stack: Stack) -> None:
    code = "while True:\n    print('x' * 1000)\n"
    run = ok(await execute(stack, run_body("python", code)))["run"]
    assert (run["status"], run["signal"], run["message"]) == (
        "OL",
        "SIGKILL",
        "stdout length exceeded",
    )


# -- WebSocket -----------------------------------------------------------------------------------


@dataclass
class Socket:
    """What a /connect client saw: the messages, then how the server closed."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    code: int | None = None
    reason: str = ""

    def data(self, stream: str = "stdout") -> str:
        return "".join(
            m["data"] for m in self.messages if m["type"] == "data" and m["stream"] == stream
        )

    def kinds(self) -> list[str]:
        """Message types in order, consecutive `data` folded into one."""
        kinds: list[str] = []
        for m in self.messages:
            if not (m["type"] == "data" and kinds and kinds[-1] == "data"):
                kinds.append(m["type"])
        return kinds


class Connection:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.seen = Socket()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def next(self, timeout: float = 30) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(scaled(timeout)):
                raw = await self.ws.recv()
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.seen.code, self.seen.reason = closed.rcvd.code, closed.rcvd.reason
            return None
        self.seen.messages.append(json.loads(raw))
        return self.seen.messages[-1]

    async def wait_for(self, needle: str, timeout: float = 30) -> None:
        while needle not in self.seen.data():
            assert await self.next(timeout) is not None, self.seen

    async def finish(self, timeout: float = 60) -> Socket:
        while await self.next(timeout) is not None:
            pass
        return self.seen


def connect(stack: Stack, path: str = "/api/v2/connect", key: str | None = "") -> Any:
    headers = {} if key is None else {"Authorization": key or stack.api_key}
    url = stack.base_url.replace("http", "ws", 1) + path
    return websockets.connect(url, additional_headers=headers, open_timeout=scaled(10))


def init(language: str, code: str, **fields: Any) -> dict[str, Any]:
    return {"type": "init", **run_body(language, code), **fields}


async def test_ws_stdin_and_a_real_signal(stack: Stack, runtimes: list[dict[str, Any]]) -> None:
    async with connect(stack) as ws:
        conn = Connection(ws)
        await conn.send(init("python", TRAP))
        await conn.send({"type": "data", "stream": "stdin", "data": "bob\n"})
        await conn.wait_for("hello bob\n")
        await conn.send({"type": "signal", "signal": "SIGINT"})
        seen = await conn.finish()
    python = next(rt["version"] for rt in runtimes if rt["language"] == "python")
    assert seen.messages[0] == {"type": "runtime", "language": "python", "version": python}
    assert seen.messages[1] == {"type": "stage", "stage": "run"}
    assert seen.data() == "hello bob\ngot SIGINT\n"  # upstream accepts the signal, does nothing
    assert seen.messages[-1] == {"type": "exit", "stage": "run", "code": 0, "signal": None}
    assert (seen.code, seen.reason) == (4999, "Job Completed")
    assert seen.kinds() == ["runtime", "stage", "data", "exit"]


async def test_ws_a_compiled_language_has_both_stages(stack: Stack) -> None:
    async with connect(stack, "/api/v2/piston/connect/") as ws:
        conn = Connection(ws)
        await conn.send(init("c++", p.HELLO["cpp"]))
        seen = await conn.finish()
    assert seen.kinds() == ["runtime", "stage", "exit", "stage", "data", "exit"]
    assert [m.get("stage") for m in seen.messages if m["type"] in ("stage", "exit")] == [
        "compile",
        "compile",
        "run",
        "run",
    ]
    assert seen.data() == "hello, world\n" and seen.code == 4999


async def test_ws_a_compile_error_ends_after_the_compile_stage(stack: Stack) -> None:
    async with connect(stack) as ws:
        conn = Connection(ws)
        await conn.send(init("rust", "fn main() { let x = ; }"))
        seen = await conn.finish()
    assert seen.kinds() == ["runtime", "stage", "data", "exit"]
    assert "error" in seen.data("stderr")
    assert seen.messages[-1] == {"type": "exit", "stage": "compile", "code": 1, "signal": None}
    assert seen.code == 4999


async def test_ws_sigkill_is_a_kill(stack: Stack) -> None:
    async with connect(stack) as ws:
        conn = Connection(ws)
        await conn.send(init("python", "print('up', flush=True)\ninput()\n"))
        await conn.wait_for("up\n")
        await conn.send({"type": "signal", "signal": "SIGKILL"})
        seen = await conn.finish()
    assert seen.messages[-1] == {"type": "exit", "stage": "run", "code": None, "signal": "SIGKILL"}
    assert seen.code == 4999


@pytest.mark.parametrize(
    ("before", "after", "code", "reason"),
    [
        ([], [], 4001, "Initialization Timeout"),
        ([{"type": "data", "stream": "stdin", "data": "x"}], [], 4003, "Not yet initialized"),
        ([{"type": "signal", "signal": "SIGINT"}], [], 4003, "Not yet initialized"),
        ([], [{"type": "init"}], 4000, "Already Initialized"),
        ([], [{"type": "data", "stream": "stdout", "data": "x"}], 4004, "Can only write to stdin"),
        ([], [{"type": "signal", "signal": "SIGFOO"}], 4005, "Invalid signal"),
    ],
)
async def test_ws_close_codes(
    stack: Stack, before: list[dict[str, Any]], after: list[dict[str, Any]], code: int, reason: str
) -> None:
    async with connect(stack) as ws:
        conn = Connection(ws)
        for m in before:
            await conn.send(m)
        if not before and after:
            await conn.send(init("python", "print('up', flush=True)\ninput()\n"))
            await conn.wait_for("up\n")
        for m in after:
            await conn.send(m)
        seen = await conn.finish(timeout=10)
    assert (seen.code, seen.reason) == (code, reason), seen
    assert not any(m["type"] == "error" for m in seen.messages)


async def test_ws_a_signal_piston_knows_but_we_do_not_send_is_4005_with_a_reason(
    stack: Stack,
) -> None:
    async with connect(stack) as ws:
        conn = Connection(ws)
        await conn.send(init("python", "print('up', flush=True)\ninput()\n"))
        await conn.wait_for("up\n")
        await conn.send({"type": "signal", "signal": "SIGSEGV"})
        seen = await conn.finish()
    assert seen.messages[-1]["type"] == "error"
    assert seen.messages[-1]["message"].startswith("SIGSEGV cannot be sent here; one of")
    assert seen.code == 4005


@pytest.mark.parametrize(
    ("first", "key", "text"),
    [
        (init("cobol", "x"), "", "cobol-* runtime is unknown"),
        (
            init("c", "x", run_timeout=99999),
            "",
            "run_timeout cannot exceed the configured limit of 10000",
        ),
        (init("python", "x"), "wrong", "missing or invalid API key"),
    ],
)
async def test_ws_errors_are_notified_then_4002(
    stack: Stack, first: dict[str, Any], key: str, text: str
) -> None:
    async with connect(stack, key=key) as ws:
        conn = Connection(ws)
        with contextlib.suppress(ConnectionClosed):  # a bad key is refused before any message
            await conn.send(first)
        seen = await conn.finish(timeout=10)
    assert len(seen.messages) == 1 and seen.messages[0]["type"] == "error"
    assert seen.messages[0]["message"].startswith(text)
    assert (seen.code, seen.reason) == (4002, "Notified Error")


# -- PISTON_API=open, and the official npm client ----------------------------------------------


@pytest.fixture(scope="module")
def open_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = start_stack(
        redis_server.url,
        tmp_path_factory.mktemp("piston-open"),
        PISTON_API="open",
        RATE_LIMIT_PER_MINUTE="25",
    )
    yield s
    s.gateway.stop()
    s.worker.stop()


def node() -> str:
    found = shutil.which("node") or "/opt/cexec-node/bin/node"
    assert Path(found).exists(), "no Node: run `make install`"
    assert (COMPAT / "node_modules" / "piston-client").is_dir(), "run `make install`"
    return found


async def test_the_official_npm_client(open_stack: Stack) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [node(), "run.mjs", open_stack.base_url],
        cwd=COMPAT,
        capture_output=True,
        text=True,
        timeout=scaled(180),
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    async with http(open_stack, key=None) as client:
        assert got["runtimes"] == (await client.get("/api/v2/runtimes")).json()
    for language, answer in got["hello"].items():
        assert answer["language"] == language, answer
        assert answer["run"]["stdout"] == "hello, world\n", answer
        assert answer["run"]["code"] == 0
    assert got["config"]["run"]["stdout"] == "from stdin ['a', 'b']\n", got["config"]
    compile_error = got["compileError"]
    assert (
        compile_error["compile"]["code"] == 1 and compile_error["run"] == compile_error["compile"]
    )
    # An alias gives the client no version to send: upstream's 400, word for word.
    assert got["alias"] == {"message": "version is required as a string"}


async def test_open_mode_rate_limits_per_client_address(open_stack: Stack) -> None:
    """RATE_LIMIT_PER_MINUTE=25 for ip:127.0.0.1; a minute that turns mid-test resets the count
    once, hence the bound."""
    async with http(open_stack, key=None) as client:
        for _ in range(60):
            reply = await client.post("/api/v2/execute", json=run_body("py", "1"))
            if reply.status_code != 200:
                break
    assert "jobs a minute" in message(reply, 429)
    assert int(reply.headers["Retry-After"]) > 0


@pytest.fixture(scope="module")
def off_gateway(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A gateway alone (no worker: nothing runs) with PISTON_API=off."""
    port = free_port()
    env = service_env(redis_server.url, "toff", PORT=str(port), PISTON_API="off")
    gateway: Service = start_service("services.websocket", env, tmp_path_factory.mktemp("off"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(base + "/health").status_code == 200, 20, "gateway")
        yield Stack(base, "", "", "", redis_server.url, "toff", gateway, gateway)
    finally:
        gateway.stop()


async def test_off_is_a_404_everywhere_under_api_v2(off_gateway: Stack) -> None:
    async with http(off_gateway, key=None) as client:
        for method, path in (
            ("GET", "/api/v2"),
            ("GET", "/api/v2/runtimes"),
            ("POST", "/api/v2/execute"),
        ):
            reply = await client.request(method, path, headers={"Authorization": "x"})
            assert reply.status_code == 404
            assert reply.json()["error"]["code"] == "not_found"  # as any route that is not here
        assert (await client.get("/health")).status_code == 200
    with pytest.raises(InvalidStatus):
        async with connect(off_gateway, key=None):
            pass
