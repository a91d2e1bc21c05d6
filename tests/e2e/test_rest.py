"""End to end: the REST door (POST /api/execute, GET /api/jobs/{id}, GET /api/runtimes) against
the live gateway, worker and Redis: results in every language, every refusal in the one JSON shape
with its HTTP status, jobs read by id whichever door started them, and a client that goes away
cancelling its job."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from tests.client import open_job
from tests.conftest import API_KEY, RedisServer, Stack, scaled, start_stack
from tests.e2e import programs as p

pytestmark = pytest.mark.e2e

JOB_STATES = ("queued", "running")
RESULT_FIELDS = {
    "job_id",
    "status",
    "language",
    "exit_code",
    "signal",
    "stdout",
    "stderr",
    "compile_output",
    "stdout_truncated",
    "stderr_truncated",
    "compile_output_truncated",
    "execution_time",
    "cpu_time",
    "memory_kb",
    "message",
    "tests",
    "passed",
    "total",
}

# The keys of the module's own stack (`limited`), one per purpose: its rate limit is per key.
READER_KEY = "key-two-reader-" + secrets.token_hex(4)
RATE_KEY = "key-three-rate-" + secrets.token_hex(4)
RUNNING_KEY = "key-four-running-" + secrets.token_hex(4)
MISC_KEY = "key-five-misc-" + secrets.token_hex(4)


def client(stack: Stack, api_key: str | None = None, timeout: float = 30) -> httpx.AsyncClient:
    key = stack.api_key if api_key is None else api_key
    return httpx.AsyncClient(
        base_url=stack.base_url, timeout=scaled(timeout), headers={"X-API-Key": key}
    )


async def execute(
    stack: Stack, body: dict[str, Any], api_key: str | None = None, **params: str
) -> httpx.Response:
    async with client(stack, api_key) as http:
        return await http.post("/api/execute", json=body, params=params)


def result_of(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    result = dict(reply.json())
    assert set(result) >= RESULT_FIELDS, result
    assert len(result["job_id"]) == 32 and int(result["job_id"], 16) >= 0
    return result


def error_of(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The refusal's `error` object, after checking its status, shape and code."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"error"}, body
    error = dict(body["error"])
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "violations"}, error
    return error


async def wait_for_end(
    stack: Stack, job_id: str, api_key: str | None = None, timeout: float = 15
) -> tuple[dict[str, Any], list[str]]:
    """Poll GET /api/jobs/{id} until the job has ended: its result and the states seen before."""
    seen: list[str] = []
    deadline = time.monotonic() + scaled(timeout)
    async with client(stack, api_key) as http:
        while time.monotonic() < deadline:
            result = result_of(await http.get(f"/api/jobs/{job_id}"))
            assert result["job_id"] == job_id
            if result["status"] not in JOB_STATES:
                return result, seen
            seen.append(result["status"])
            await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end within {timeout} s; states {seen}")


@pytest.fixture(scope="module")
def limited(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with several API keys, 2 jobs a minute per key, 1 running job per key, 1 KB of
    stdin, and a worker serving Python only."""
    stack = start_stack(
        redis_server.url,
        tmp_path_factory.mktemp("rest-limited"),
        API_KEYS=",".join((API_KEY, READER_KEY, RATE_KEY, RUNNING_KEY, MISC_KEY)),
        RATE_LIMIT_PER_MINUTE="2",
        MAX_RUNNING_PER_KEY="1",
        MAX_INPUT_KB="1",
        LANGUAGES="python",
    )
    yield stack
    stack.gateway.stop()
    stack.worker.stop()


@pytest.fixture
async def redis_client(stack: Stack) -> AsyncIterator[aioredis.Redis]:
    # Not the `redis` fixture of conftest: it flushes the database the session stack lives in.
    client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
    yield client
    await client.aclose()


# -- results -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", p.LANGUAGES)
async def test_hello_world(stack: Stack, language: str) -> None:
    result = result_of(await execute(stack, {"language": language, "code": p.HELLO[language]}))
    assert result["status"] == "ok", result
    assert result["language"] == language
    assert result["stdout"] == "hello, world\n" and result["stderr"] == ""
    assert result["exit_code"] == 0 and result["signal"] is None
    assert result["execution_time"] > 0 and result["cpu_time"] > 0 and result["memory_kb"] > 0
    assert not result["stdout_truncated"] and result["tests"] is None
    assert "error" not in result or result["error"] is None


async def test_alias_runs_its_language(stack: Stack) -> None:
    result = result_of(await execute(stack, {"language": "c++", "code": p.HELLO["cpp"]}))
    assert (result["status"], result["language"]) == ("ok", "cpp")
    assert result["stdout"] == "hello, world\n"


async def test_compile_error(stack: Stack) -> None:
    result = result_of(await execute(stack, {"language": "c", "code": p.COMPILE_ERROR["c"]}))
    assert result["status"] == "compile_error"
    assert "undeclared_name" in result["compile_output"]
    assert "error" in result["compile_output"].lower()
    assert result["stdout"] == "" and result["stderr"] == ""


async def test_runtime_error_keeps_exit_code(stack: Stack) -> None:
    result = result_of(
        await execute(stack, {"language": "python", "code": p.RUNTIME_ERROR["python"]})
    )
    assert (result["status"], result["exit_code"]) == ("runtime_error", 3)
    assert result["stdout"] == "before\n"


async def test_stdin_and_args(stack: Stack) -> None:
    code = "import sys\nprint(sys.argv[1:])\nprint(input().upper(), input().upper())\n"
    body = {"language": "python", "code": code, "args": ["a b", "c"], "stdin": "one\ntwo\n"}
    result = result_of(await execute(stack, body))
    assert result["status"] == "ok", result
    assert result["stdout"] == "['a b', 'c']\nONE TWO\n"


@pytest.mark.parametrize("stdin", ["a\nb\n", None])
async def test_stdin_ends_after_the_body(stack: Stack, stdin: str | None) -> None:
    body = {"language": "python", "code": p.READ_ALL["python"], "limits": {"time_s": 2}}
    if stdin is not None:
        body["stdin"] = stdin
    result = result_of(await execute(stack, body))
    assert result["status"] == "ok", result
    assert result["stdout"] == ("2 4\n" if stdin else "0 0\n")


async def test_files_and_filename(stack: Stack) -> None:
    files = [
        {"name": "helper.py", "content": "def twice(x):\n    return 2 * x\n"},
        {"name": "start.py", "content": "import helper\nprint(helper.twice(21))\n"},
    ]
    body = {"language": "python", "files": files, "filename": "start.py"}
    result = result_of(await execute(stack, body))
    assert (result["status"], result["stdout"]) == ("ok", "42\n")


@pytest.mark.parametrize("language", ["python", "c"])
async def test_stderr_kept_apart(stack: Stack, language: str) -> None:
    result = result_of(await execute(stack, {"language": language, "code": p.STDERR[language]}))
    assert result["stdout"] == "to out\n"
    assert result["stderr"] == "to err\n"


async def test_timeout(stack: Stack) -> None:
    started = time.monotonic()
    body = {"language": "python", "code": p.CPU_LOOP["python"], "limits": {"time_s": 1}}
    result = result_of(await execute(stack, body))
    assert result["status"] == "timeout", result
    assert 0.9 <= result["execution_time"] < 5
    assert time.monotonic() - started < scaled(10)


async def test_output_limit_truncates_stdout(stack: Stack) -> None:
    body = {
        "language": "python",
        "code": "while True:\n    print('x' * 100)\n",
        "limits": {"output_kb": 1},
    }
    result = result_of(await execute(stack, body))
    assert result["status"] == "output_limit", result
    assert result["stdout_truncated"] is True
    assert 0 < len(result["stdout"].encode()) <= 1024
    assert set(result["stdout"]) <= {"x", "\n"}


async def test_long_output_is_kept_up_to_the_result_cap(stack: Stack) -> None:
    # Within the output limit (1 MB), over what a result keeps of a stream (64 KB).
    body = {"language": "python", "code": "print('y' * (100 * 1024), end='')\n"}
    result = result_of(await execute(stack, body))
    assert result["status"] == "ok", result
    assert result["stdout"] == "y" * (64 * 1024)
    assert result["stdout_truncated"] is True


async def test_judge_mode(stack: Stack) -> None:
    body = {
        "language": "python",
        "code": "print(int(input()) ** 2)\n",
        "tests": [
            {"stdin": "2\n", "expected_output": "4\n"},
            {"stdin": "3\n", "expected_output": "10\n"},
        ],
    }
    result = result_of(await execute(stack, body))
    assert result["status"] == "wrong_answer", result
    assert (result["passed"], result["total"]) == (1, 2)
    assert [t["status"] for t in result["tests"]] == ["accepted", "wrong_answer"]
    assert [t["stdout"] for t in result["tests"]] == ["4\n", "9\n"]


async def test_body_without_content_type_is_json(stack: Stack) -> None:
    raw = json.dumps({"language": "python", "code": "print('no header')"}).encode()
    async with client(stack) as http:
        reply = await http.post("/api/execute", content=raw)
    assert "content-type" not in reply.request.headers
    result = result_of(reply)
    assert (result["status"], result["stdout"]) == ("ok", "no header\n")


async def test_bearer_key_accepted(stack: Stack) -> None:
    body = {"language": "python", "code": "print('bearer')"}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=scaled(30)) as http:
        headers = {"Authorization": f"Bearer {stack.api_key}"}
        reply = await http.post("/api/execute", json=body, headers=headers)
        result = result_of(reply)
        assert result["stdout"] == "bearer\n"
        again = await http.get(f"/api/jobs/{result['job_id']}", headers=headers)
        assert result_of(again) == result


# -- refusals ----------------------------------------------------------------------------------

HELLO_PY = {"language": "python", "code": "print(1)\n"}


def body(**fields: Any) -> bytes:
    return json.dumps({**HELLO_PY, **fields}).encode()


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        pytest.param(b"not json", 400, "invalid_json", id="not-json"),
        pytest.param(b"", 400, "invalid_json", id="empty"),
        pytest.param(b'{"language": "python", ', 400, "invalid_json", id="truncated"),
        pytest.param(b"[1, 2]", 400, "invalid_message", id="array"),
        pytest.param(b'"print(1)"', 400, "invalid_message", id="string"),
        pytest.param(b'{"code": "print(1)"}', 400, "invalid_message", id="no-language"),
        pytest.param(body(language=5), 400, "invalid_message", id="language-number"),
        pytest.param(body(args="a b"), 400, "invalid_message", id="args-string"),
        pytest.param(body(limits={"time_s": -1}), 400, "invalid_message", id="negative-time"),
        pytest.param(body(limits={"memory_mb": "lots"}), 400, "invalid_message", id="memory-str"),
        pytest.param(body(files=[{"name": "a.py"}]), 400, "invalid_message", id="file-no-content"),
        pytest.param(body(code=None), 400, "invalid_request", id="no-code-nor-files"),
        pytest.param(body(code="\ud800"), 400, "invalid_request", id="lone-surrogate"),
        pytest.param(body(tests=[]), 400, "invalid_request", id="empty-tests"),
        pytest.param(body(language="cobol"), 400, "unsupported_language", id="unknown-language"),
        pytest.param(body(filename="../etc/passwd"), 400, "invalid_filename", id="dotdot"),
        pytest.param(body(filename="main"), 400, "invalid_filename", id="reserved-name"),
        pytest.param(
            body(language="c", filename="main.py"), 400, "invalid_filename", id="c-suffix"
        ),
        pytest.param(body(limits={"time_s": 10_000}), 400, "limit_exceeded", id="time-cap"),
        pytest.param(body(limits={"memory_mb": 10**6}), 400, "limit_exceeded", id="memory-cap"),
        pytest.param(body(limits={"output_kb": 10**6}), 400, "limit_exceeded", id="output-cap"),
        pytest.param(body(args=["a"] * 65), 400, "limit_exceeded", id="too-many-args"),
        pytest.param(body(code="x" * (70 * 1024)), 413, "code_too_large", id="code-too-large"),
        pytest.param(
            body(tests=[{"stdin": "x" * (1100 * 1024), "expected_output": ""}]),
            413,
            "input_too_large",
            id="tests-too-large",
        ),
        pytest.param(
            body(stdin="x" * (2100 * 1024)), 413, "message_too_large", id="stdin-over-message"
        ),
    ],
)
async def test_refusal(stack: Stack, raw: bytes, status: int, code: str) -> None:
    async with client(stack) as http:
        reply = await http.post(
            "/api/execute", content=raw, headers={"Content-Type": "application/json"}
        )
    error_of(reply, status, code)


async def test_streamed_body_over_the_message_limit(stack: Stack) -> None:
    """Chunked, with no Content-Length: refused while it is read, not after."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"language": "python", "code": "print(1)", "stdin": "'
        for _ in range(33):  # 33 times 64 KB: over MAX_MESSAGE_KB (2048)
            yield b"x" * (64 * 1024)
        yield b'"}'

    async with client(stack) as http:
        reply = await http.post("/api/execute", content=chunks())
    assert "content-length" not in reply.request.headers
    error_of(reply, 413, "message_too_large")


async def test_code_rejected_with_violations(stack: Stack) -> None:
    code = "import math\nimport subprocess\nsubprocess.run(['id'])\n"
    reply = await execute(stack, {"language": "python", "code": code})
    error = error_of(reply, 422, "code_rejected")
    first = error["violations"][0]
    assert first["rule"] == "py.subprocess"
    assert (first["file"], first["line"], first["col"]) == ("main.py", 2, 8)
    assert first["action"] == "deny"
    reply = await execute(stack, {"language": "python", "code": "import os\nos.system('id')\n"})
    assert "py.os-exec" in {v["rule"] for v in error_of(reply, 422, "code_rejected")["violations"]}


async def test_bad_wait_parameter(stack: Stack) -> None:
    reply = await execute(stack, HELLO_PY, wait="perhaps")
    assert "wait" in error_of(reply, 400, "invalid_request")["message"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"X-API-Key": "wrong-key"}, id="x-api-key-wrong"),
        pytest.param({"X-API-Key": ""}, id="x-api-key-empty"),
        pytest.param({"Authorization": "Bearer wrong-key"}, id="bearer-wrong"),
        pytest.param({"Authorization": "Bearer"}, id="bearer-empty"),
        pytest.param({"Authorization": f"Basic {API_KEY}"}, id="basic-scheme"),
        pytest.param({"Authorization": API_KEY}, id="no-scheme"),
    ],
)
async def test_api_key_required(stack: Stack, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=scaled(30)) as http:
        replies = [
            await http.post("/api/execute", content=b"not even json", headers=headers),
            await http.get("/api/runtimes", headers=headers),
            await http.get(f"/api/jobs/{'0' * 32}", headers=headers),
        ]
    for reply in replies:
        error_of(reply, 401, "auth")
        assert stack.api_key not in reply.text


async def test_unknown_job_is_404(stack: Stack) -> None:
    async with client(stack) as http:
        for job_id in ("0" * 32, secrets.token_hex(16), "not-a-job-id", "A" * 32, "0" * 33):
            error_of(await http.get(f"/api/jobs/{job_id}"), 404, "not_found")


async def test_unrouted_requests_in_the_error_shape(stack: Stack) -> None:
    async with client(stack) as http:
        error_of(await http.get("/api/nothing-here"), 404, "not_found")
        refused = await http.get("/api/execute")
        error_of(refused, 405, "invalid_request")
        assert refused.headers["allow"] == "POST"
        # `create` is not a job id: GET of it is a 405, not a lookup.
        error_of(await http.get("/api/jobs/create"), 405, "invalid_request")
        error_of(await http.delete(f"/api/jobs/{'0' * 32}"), 405, "invalid_request")


# -- jobs read by id ---------------------------------------------------------------------------


async def test_wait_false_then_poll(stack: Stack) -> None:
    code = "import time\ntime.sleep(1)\nprint('slept')\n"
    reply = await execute(stack, {"language": "python", "code": code}, wait="false")
    assert reply.status_code == 202, reply.text
    queued = reply.json()
    assert set(queued) == {"job_id", "status"} and queued["status"] == "queued"
    result, seen = await wait_for_end(stack, queued["job_id"])
    assert seen, "the job had ended by the first poll: did wait=false wait?"
    assert set(seen) <= set(JOB_STATES)
    assert (result["status"], result["stdout"]) == ("ok", "slept\n")
    assert result["execution_time"] >= 0.9
    # The result stays: a second read answers the same.
    async with client(stack) as http:
        assert result_of(await http.get(f"/api/jobs/{queued['job_id']}")) == result


async def test_execute_result_is_the_stored_one(stack: Stack) -> None:
    result = result_of(await execute(stack, {"language": "python", "code": "print('kept')"}))
    async with client(stack) as http:
        assert result_of(await http.get(f"/api/jobs/{result['job_id']}")) == result


async def test_websocket_job_read_over_rest(stack: Stack) -> None:
    async with open_job(stack, "python", "print('over ws')\n") as conn:
        out = await conn.finish()
    assert out.status == "ok"
    async with client(stack) as http:
        result = result_of(await http.get(f"/api/jobs/{conn.job_id}"))
    assert result["job_id"] == conn.job_id
    assert (result["status"], result["stdout"], result["exit_code"]) == ("ok", "over ws\n", 0)
    assert result["execution_time"] == out.complete["execution_time"]


async def test_disconnect_cancels_the_job(stack: Stack, redis_client: aioredis.Redis) -> None:
    marker = "started-" + secrets.token_hex(4)
    code = f"import time\nprint({marker!r}, flush=True)\ntime.sleep(30)\nprint('woke up')\n"
    pattern = f"{stack.prefix}:job:*:started"
    before = set(await redis_client.keys(pattern))
    began = time.monotonic()
    request = asyncio.create_task(execute(stack, {"language": "python", "code": code}))
    # The job id never reaches the client: it is the job that started meanwhile.
    deadline = time.monotonic() + scaled(10)
    while not (new := set(await redis_client.keys(pattern)) - before):
        assert time.monotonic() < deadline, "the job did not start"
        assert not request.done(), request.result().text
        await asyncio.sleep(0.05)
    assert len(new) == 1, new
    job_id = str(new.pop()).split(":")[-2]
    await asyncio.sleep(1)  # the program is printing, then sleeping
    assert not request.done()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    cancelled = time.monotonic()

    result, _ = await wait_for_end(stack, job_id, timeout=5)
    # The door kills the job at once (~0.2 s); were it not to, the worker would still kill the
    # orphan, but only once the job's lease had lapsed (jobs.LEASE_S, 3 s).
    assert time.monotonic() - cancelled < scaled(1.5)
    assert result["status"] == "killed", result
    assert result["stdout"] == f"{marker}\n"
    assert result["execution_time"] < 10
    assert time.monotonic() - began < scaled(15)
    stored = json.loads(str(await redis_client.get(f"{stack.prefix}:job:{job_id}:result")))
    assert stored["result"]["status"] == "killed"
    line = f"job {job_id}: REST client disconnected; job killed"
    deadline = time.monotonic() + scaled(5)
    while line not in stack.gateway.output():
        assert time.monotonic() < deadline, "the gateway did not log the disconnect"
        await asyncio.sleep(0.1)


# -- runtimes and documentation ----------------------------------------------------------------


async def test_runtimes(stack: Stack) -> None:
    async with client(stack) as http:
        reply = await http.get("/api/runtimes")
    assert reply.status_code == 200, reply.text
    runtimes = {r["language"]: r for r in reply.json()}
    assert set(runtimes) == set(p.LANGUAGES)
    for name, runtime in runtimes.items():
        assert set(runtime) == {"language", "version", "aliases", "compiled", "filename"}
        assert isinstance(runtime["version"], str) and runtime["version"].strip(), runtime
        assert runtime["compiled"] is (name in p.COMPILED), runtime
    assert "Python 3" in runtimes["python"]["version"]
    assert runtimes["python"]["filename"] == "main.py"
    assert runtimes["rust"]["filename"] == "main.rs"
    assert "c++" in runtimes["cpp"]["aliases"] and "js" in runtimes["javascript"]["aliases"]


async def test_openapi_and_local_swagger_ui(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=scaled(30)) as http:
        doc = await http.get("/openapi.json")
        assert doc.status_code == 200
        assert doc.json()["openapi"].startswith("3.1")
        assert {"/api/execute", "/api/jobs/{job_id}", "/api/runtimes"} <= set(doc.json()["paths"])
        page = await http.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "/openapi.json" in page.text
        assert "cdn" not in page.text.lower() and "https://" not in page.text.split("<body>")[0]
        for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"):
            assert f'"{asset}"' in page.text
            served = await http.get(asset)
            assert served.status_code == 200 and len(served.content) > 10_000, asset


# -- a stack with more keys and tight limits ---------------------------------------------------


async def test_another_key_cannot_read_the_job(limited: Stack) -> None:
    async with open_job(limited, "python", "print('mine')\n") as conn:
        assert (await conn.finish()).status == "ok"
    rest = result_of(await execute(limited, {"language": "python", "code": "print('mine')"}))
    for job_id in (conn.job_id, rest["job_id"]):
        async with client(limited) as http:
            assert result_of(await http.get(f"/api/jobs/{job_id}"))["stdout"] == "mine\n"
        async with client(limited, READER_KEY) as http:
            reply = await http.get(f"/api/jobs/{job_id}")
        error = error_of(reply, 404, "not_found")
        # Not told apart from an unknown id.
        async with client(limited, READER_KEY) as http:
            assert error == error_of(await http.get(f"/api/jobs/{'0' * 32}"), 404, "not_found")


async def test_rate_limited_with_retry_after(limited: Stack) -> None:
    if time.time() % 60 > 58:  # the three must fall in one minute (fixed windows)
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    for _ in range(2):
        assert result_of(await execute(limited, HELLO_PY, RATE_KEY))["status"] == "ok"
    reply = await execute(limited, HELLO_PY, RATE_KEY)
    now = time.time()
    error_of(reply, 429, "rate_limited")
    retry_after = int(reply.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert abs(retry_after - (60 - int(now) % 60)) <= 1, retry_after
    # Another key is not limited by this one's count.
    assert result_of(await execute(limited, HELLO_PY, READER_KEY))["status"] == "ok"


async def test_too_many_running_with_retry_after(limited: Stack) -> None:
    code = "import time\ntime.sleep(1.5)\nprint('done')\n"
    first = await execute(limited, {"language": "python", "code": code}, RUNNING_KEY, wait="false")
    assert first.status_code == 202, first.text
    second = await execute(limited, HELLO_PY, RUNNING_KEY)
    error_of(second, 429, "too_many_running")
    assert second.headers["retry-after"] == "1"
    result, _ = await wait_for_end(limited, first.json()["job_id"], RUNNING_KEY)
    assert result["stdout"] == "done\n"


async def test_stdin_too_large(limited: Stack) -> None:
    reply = await execute(limited, {**HELLO_PY, "stdin": "x" * 2048}, MISC_KEY)
    error_of(reply, 413, "input_too_large")


async def test_language_without_a_worker(limited: Stack) -> None:
    async with client(limited, MISC_KEY) as http:
        runtimes = (await http.get("/api/runtimes")).json()
    assert [r["language"] for r in runtimes] == ["python"]
    reply = await execute(limited, {"language": "c", "code": p.HELLO["c"]}, MISC_KEY)
    error_of(reply, 503, "language_unavailable")
    assert reply.headers["retry-after"] == "5"
