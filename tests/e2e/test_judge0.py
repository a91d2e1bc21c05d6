"""End to end: the Judge0 CE 1.13.1 API at /judge0 against the live gateway, worker and Redis.

First with the official SDK from PyPI (`judge0` 0.0.8, unmodified): it reads /languages,
/config_info and /about, submits with base64 and polls `fields=*`, and refuses any key it does not
know. Then golden checks with httpx: wait=true latency, batches, base64 round trips, the 401, 404
and 422 answers, and JUDGE0_API=open.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import judge0
import pytest

from lib import judge0 as ours
from tests.conftest import RedisServer, Stack, scaled, start_stack

pytestmark = pytest.mark.e2e

HELLO = {
    71: 'print("hello, world")',
    63: 'console.log("hello, world")',
    50: '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n',
    54: '#include <iostream>\nint main() { std::cout << "hello, world" << std::endl; }\n',
    73: 'fn main() { println!("hello, world"); }\n',
}


def sdk_client(stack: Stack) -> judge0.Client:
    return judge0.Client(
        endpoint=f"{stack.base_url}/judge0", headers={"X-Auth-Token": stack.api_key}
    )


@pytest.fixture(scope="module")
def sdk(stack: Stack) -> judge0.Client:
    return sdk_client(stack)


def http(stack: Stack, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=f"{stack.base_url}/judge0",
        headers={"X-Auth-Token": stack.api_key if key is None else key},
        timeout=scaled(60),
    )


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with http(stack) as client:
        yield client


def run(sdk: judge0.Client, **kwargs: Any) -> Any:
    return judge0.run(client=sdk, **kwargs)


# -- the official SDK ------------------------------------------------------------------------------


def test_sdk_constructs_reads_languages_config_and_version(sdk: judge0.Client) -> None:
    ids = {lang.id for lang in sdk.languages}
    assert {71, 63, 50, 52, 54, 73, 92, 97, 103, 105, 108} <= ids
    assert sdk.config.max_submission_batch_size == 20
    assert sdk.version == "1.13.1"
    assert sdk.get_language_id(judge0.PYTHON) == 71
    assert sdk.get_language_id(judge0.CPP) == 52
    names = {lang.id: lang.name for lang in sdk.languages}
    assert names[71].startswith("Python (3.") and names[92] == names[71]
    assert names[63].startswith("JavaScript (Node.js ")
    assert names[50].startswith("C (GCC ") and names[54].startswith("C++ (GCC ")
    assert names[73].startswith("Rust (1.")


@pytest.mark.parametrize("language", sorted(HELLO))
def test_sdk_runs_each_language(sdk: judge0.Client, language: int) -> None:
    result = run(sdk, source_code=HELLO[language], language=language)
    assert result.status == judge0.Status.ACCEPTED, result
    assert result.stdout == "hello, world\n"
    assert result.stderr is None and result.exit_code == 0
    assert result.time is not None and result.time >= 0
    assert result.memory is not None and result.memory > 0
    assert result.created_at is not None and result.finished_at is not None
    assert uuid.UUID(str(result.token)).version == 4


def test_sdk_language_aliases(sdk: judge0.Client) -> None:
    result = run(sdk, source_code="print(input()[::-1])", language=judge0.PYTHON, stdin="abc")
    assert result.stdout == "cba\n"


def test_sdk_expected_output_accepted_and_wrong(sdk: judge0.Client) -> None:
    good = run(sdk, source_code="print('42  ')\n", language=71, expected_output="42\n\n")
    assert good.status == judge0.Status.ACCEPTED
    bad = run(sdk, source_code="print(41)", language=71, expected_output="42")
    assert bad.status == judge0.Status.WRONG_ANSWER
    assert bad.stdout == "41\n"


def test_sdk_test_cases_in_one_batch(sdk: judge0.Client) -> None:
    cases = [("1 2", "3"), ("2 2", "4"), ("5 5", "11")]
    results = run(
        sdk,
        source_code="a, b = map(int, input().split())\nprint(a + b)",
        language=judge0.PYTHON,
        test_cases=cases,
    )
    assert [r.status for r in results] == [
        judge0.Status.ACCEPTED,
        judge0.Status.ACCEPTED,
        judge0.Status.WRONG_ANSWER,
    ]
    assert [r.stdout for r in results] == ["3\n", "4\n", "10\n"]


def test_sdk_compile_error(sdk: judge0.Client) -> None:
    result = run(sdk, source_code="int main(void) { return undefined_name; }", language=50)
    assert result.status == judge0.Status.COMPILATION_ERROR
    assert "undefined_name" in (result.compile_output or "")
    assert result.stdout is None and result.time is None and result.exit_code is None


def test_sdk_time_limit(sdk: judge0.Client) -> None:
    result = run(sdk, source_code="while True: pass", language=71, cpu_time_limit=0.5)
    assert result.status == judge0.Status.TIME_LIMIT_EXCEEDED
    assert result.message is not None


def test_sdk_wall_time_limit(sdk: judge0.Client) -> None:
    result = run(sdk, source_code="import time; time.sleep(5)", language=71, wall_time_limit=1)
    assert result.status == judge0.Status.TIME_LIMIT_EXCEEDED


@pytest.mark.parametrize(
    ("source", "status", "signal"),
    [
        ("import sys; sys.exit(3)", judge0.Status.RUNTIME_ERROR_NZEC, None),
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
            judge0.Status.RUNTIME_ERROR_SIGSEGV,
            11,
        ),
        ("import os; os.abort()", judge0.Status.RUNTIME_ERROR_SIGABRT, 6),
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGFPE)",
            judge0.Status.RUNTIME_ERROR_SIGFPE,
            8,
        ),
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)",
            judge0.Status.RUNTIME_ERROR_OTHER,
            10,
        ),
    ],
)
def test_sdk_runtime_errors(
    sdk: judge0.Client, source: str, status: judge0.Status, signal: int | None
) -> None:
    result = run(sdk, source_code=source, language=71)
    assert result.status == status, result
    assert result.exit_signal == signal
    assert result.exit_code == (3 if signal is None else 0)


def test_sdk_c_segfault(sdk: judge0.Client) -> None:
    source = "int main(void) { volatile int *p = 0; return *p; }"
    assert run(sdk, source_code=source, language=50).status == judge0.Status.RUNTIME_ERROR_SIGSEGV


# -- golden checks over plain HTTP -----------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def finished(api: httpx.Client, token: str, params: dict[str, str] | None = None) -> Any:
    """The submission once it has ended (the test polls; the server never does)."""
    deadline = time.monotonic() + scaled(30)
    while time.monotonic() < deadline:
        reply = api.get(f"/submissions/{token}", params={"fields": "*", **(params or {})})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if body["status"]["id"] > 2:
            return body
        time.sleep(0.05)
    raise AssertionError(f"submission {token} did not end")


def submit(api: httpx.Client, params: dict[str, str] | None = None, **body: Any) -> Any:
    reply = api.post("/submissions", params={"wait": "true", **(params or {})}, json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_wait_true_hello_world_is_fast(api: httpx.Client) -> None:
    submit(api, source_code="print(1)", language_id=71)  # warm: the first job of a worker
    took = []
    for _ in range(3):
        start = time.monotonic()
        body = submit(api, source_code='print("hi")', language_id=71)
        took.append(time.monotonic() - start)
        assert body["status"] == {"id": 3, "description": "Accepted"}
    assert list(body) == [
        "stdout",
        "time",
        "memory",
        "stderr",
        "token",
        "compile_output",
        "message",
        "status",
    ]
    assert body["stdout"] == "hi\n" and body["stderr"] is None and body["message"] is None
    assert isinstance(body["time"], str) and float(body["time"]) >= 0
    assert isinstance(body["memory"], int)
    assert min(took) < scaled(0.5), took


def test_wait_false_answers_a_token_then_every_field(api: httpx.Client) -> None:
    reply = api.post("/submissions", json={"source_code": "print(2)", "language_id": 92})
    assert reply.status_code == 201
    assert list(reply.json()) == ["token"]
    token = reply.json()["token"]
    assert uuid.UUID(token).version == 4
    body = finished(api, token)
    assert tuple(body) == ours.ALL_FIELDS
    assert body["token"] == token and body["language_id"] == 92
    assert body["language"]["id"] == 92 and body["language"]["name"].startswith("Python (3.")
    assert body["status_id"] == 3 and body["stdout"] == "2\n"
    assert body["cpu_time_limit"] == "5.0" and body["wall_time_limit"] == "10.0"
    assert body["memory_limit"] == 128000 and body["number_of_runs"] == 1
    assert body["enable_network"] is False and body["callback_url"] is None
    for stamp in ("created_at", "finished_at"):
        time.strptime(body[stamp], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert body[stamp].endswith("Z")
    assert body["created_at"] <= body["finished_at"]


def test_base64_round_trip_ruby_style(api: httpx.Client) -> None:
    source = "import sys\nprint(input() * 30)\nprint('err', file=sys.stderr)\nsys.exit(4)\n"
    params = {"base64_encoded": "true"}
    body = submit(api, params, source_code=b64(source), language_id=71, stdin=b64("ab"))
    assert body["status"]["id"] == 11
    assert body["stdout"] == ours.encode64(("ab" * 30 + "\n").encode())
    assert "\n" in body["stdout"][:-1]  # 61 bytes: Ruby wraps after 60 characters
    assert base64.b64decode(body["stderr"]) == b"err\n"
    assert base64.b64decode(body["message"]) == b"Exited with error status 4"
    # Lenient decoding, as Ruby's decode64: missing padding and stray characters are fine.
    body = submit(api, params, source_code="cHJpbnQoMSk", language_id=71)  # print(1)
    assert body["stdout"] == "MQo=\n"


def test_utf8_output_in_plain_text(api: httpx.Client) -> None:
    # Upstream 1.13.1 answers this with its "cannot be converted to UTF-8" error (judge0#130).
    body = submit(api, source_code='print("あ")', language_id=71)
    assert body["stdout"] == "あ\n"


def test_batch_runs_in_parallel_with_an_invalid_member(api: httpx.Client) -> None:
    sleeper = {"source_code": "import time; time.sleep(1); print('z')", "language_id": 71}
    start = time.monotonic()
    reply = api.post("/submissions/batch", json={"submissions": [sleeper, {}, sleeper]})
    assert reply.status_code == 201
    first, invalid, last = reply.json()
    assert invalid == {
        "source_code": ["can't be blank"],
        "language_id": ["can't be blank", "language with id  doesn't exist"],
    }
    tokens = [first["token"], str(uuid.uuid4()), last["token"]]
    for token in (first["token"], last["token"]):
        assert finished(api, token)["stdout"] == "z\n"
    assert time.monotonic() - start < scaled(1.9)  # two 1 s jobs side by side
    reply = api.get("/submissions/batch", params={"tokens": ",".join(tokens), "fields": "stdout"})
    assert reply.json() == {"submissions": [{"stdout": "z\n"}, None, {"stdout": "z\n"}]}


def test_batch_refusals(api: httpx.Client) -> None:
    assert api.post("/submissions/batch", json={"submissions": [{}]}).status_code == 422
    empty = api.post("/submissions/batch", json={"submissions": []})
    assert empty.status_code == 400
    assert empty.json() == {"error": "there should be at least one submission in a batch"}
    many = api.post("/submissions/batch", json={"submissions": [{}] * 21})
    assert many.json() == {
        "error": "number of submissions in a batch should be less than or equal to 20"
    }
    assert api.get("/submissions/batch").status_code == 400


def test_authentication(stack: Stack) -> None:
    with http(stack, key="not-a-key") as bad:
        for path in ("/languages", "/config_info", "/submissions/batch?tokens=a"):
            reply = bad.get(path)
            assert reply.status_code == 401 and reply.content == b"", path
        assert bad.post("/submissions", json={}).status_code == 401
        assert bad.get("/").status_code == 200  # the home page needs no key, as upstream
    with httpx.Client(base_url=f"{stack.base_url}/judge0") as anonymous:
        assert anonymous.get("/statuses").status_code == 401
        # The key as a query parameter of the header's name, as upstream reads it too.
        assert anonymous.get("/about", params={"X-Auth-Token": stack.api_key}).status_code == 200


def test_not_found(api: httpx.Client) -> None:
    for path in (
        f"/submissions/{uuid.uuid4()}",
        "/submissions/nope",
        "/languages/1",
        "/languages/x",
    ):
        reply = api.get(path)
        assert reply.status_code == 404, path
    assert api.get("/languages/71/").json()["source_file"] == "script.py"


def test_invalid_submissions_are_422(api: httpx.Client) -> None:
    reply = api.post(
        "/submissions",
        json={
            "source_code": "int main(){}",
            "language_id": 50,
            "cpu_time_limit": 99,
            "memory_limit": 1000,
            "compiler_options": "-O2 -fplugin=evil.so",
            "callback_url": "http://example.invalid/",
            "enable_network": True,
        },
    )
    assert reply.status_code == 422
    assert reply.json() == {
        "cpu_time_limit": ["must be less than or equal to 10.0"],
        "memory_limit": ["must be greater than or equal to 2048"],
        "compiler_options": ["compiler option -fplugin=evil.so is not allowed"],
        "callback_url": ["setting callback is not allowed"],
        "enable_network": ["enabling network is not allowed"],
    }
    assert api.post("/submissions", json={"source_code": "x", "language_id": 62}).json() == {
        "language_id": ["language with id 62 doesn't exist"]
    }


def test_invalid_fields_are_400(api: httpx.Client) -> None:
    reply = api.post("/submissions", params={"fields": "stdout,foo,bar"}, json={})
    assert reply.status_code == 400
    assert reply.json() == {"error": "invalid fields: [foo, bar]"}


def test_every_option_reaches_the_program(api: httpx.Client) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("data.txt", "from the zip\n")
        z.writestr("helper.py", "VALUE = 7\n")
    source = (
        "import sys, helper\nprint(open('data.txt').read().strip(), helper.VALUE, sys.argv[1:])\n"
        "print('to stderr', file=sys.stderr)\n"
    )
    body = submit(
        api,
        {"fields": "stdout,stderr,status"},
        source_code=source,
        language_id=71,
        command_line_arguments="a 'b c' d;e",
        redirect_stderr_to_stdout=True,
        additional_files=base64.b64encode(archive.getvalue()).decode(),
    )
    assert body["status"]["id"] == 3, body
    assert body["stdout"] == "from the zip 7 ['a', 'b c', 'de']\nto stderr\n"
    assert body["stderr"] is None


def test_zip_escape_is_refused(api: httpx.Client) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escape.txt", "x")
    reply = api.post(
        "/submissions",
        json={
            "source_code": "print(1)",
            "language_id": 71,
            "additional_files": base64.b64encode(archive.getvalue()).decode(),
        },
    )
    assert reply.status_code == 422
    assert list(reply.json()) == ["additional_files"]


def test_allowed_compiler_options(api: httpx.Client) -> None:
    source = '#include <stdio.h>\nint main(void) { printf("%d\\n", X); return 0; }\n'
    body = submit(api, source_code=source, language_id=50, compiler_options="-O0 -DX=5")
    assert body["status"]["id"] == 3 and body["stdout"] == "5\n"


def test_number_of_runs_averages(api: httpx.Client) -> None:
    body = submit(
        api,
        {"fields": "*"},
        source_code="print(input())",
        language_id=71,
        stdin="x",
        number_of_runs=3,
        expected_output="x",
    )
    assert body["status_id"] == 3 and body["number_of_runs"] == 3 and body["stdout"] == "x\n"


def test_memory_limit_is_a_verdict(api: httpx.Client) -> None:
    source = "x = bytearray(200 * 1024 * 1024)\nprint(len(x))"
    body = submit(api, {"fields": "*"}, source_code=source, language_id=71, memory_limit=32000)
    assert body["status"] == {"id": 12, "description": "Runtime Error (Other)"}, body
    assert body["message"] == ours.MEMORY_MESSAGE


def test_output_limit_is_sigxfsz(api: httpx.Client) -> None:
    body = submit(api, source_code="print('x' * (3 * 1024 * 1024))", language_id=71)
    assert body["status"]["id"] == 8 and body["message"] == ours.OUTPUT_MESSAGE


def test_information_routes(api: httpx.Client) -> None:
    assert len(api.get("/config_info").json()) == 39
    assert [s["id"] for s in api.get("/statuses").json()] == list(range(1, 15))
    (queue,) = api.get("/workers").json()
    assert set(queue) == {"queue", "size", "available", "idle", "working", "paused", "failed"}
    assert queue["available"] >= 1
    assert api.get("/version").text == "1.13.1"
    assert "not Judge0" in api.get("/license").text
    assert api.get("/system_info").json()["CPU(s)"]
    assert api.get("/submissions").status_code == 403  # upstream without X-Auth-User
    assert api.post("/authenticate").status_code == 200
    assert api.post("/authorize").status_code == 403


# -- JUDGE0_API=open ------------------------------------------------------------------------------


OPEN_RATE = 4  # job creations a minute per client address


@pytest.fixture(scope="module")
def open_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("judge0-open")
    s = start_stack(redis_server.url, logs, JUDGE0_API="open", RATE_LIMIT_PER_MINUTE=str(OPEN_RATE))
    yield s
    s.gateway.stop()
    s.worker.stop()


def test_open_mode_needs_no_key(open_stack: Stack) -> None:
    with httpx.Client(base_url=f"{open_stack.base_url}/judge0", timeout=scaled(60)) as api:
        body = submit(api, source_code="print(3)", language_id=71)
        assert body["stdout"] == "3\n"
        assert finished(api, body["token"])["status_id"] == 3
    client = judge0.Client(endpoint=f"{open_stack.base_url}/judge0")
    assert run(client, source_code="print(4)", language=71).stdout == "4\n"


def test_open_mode_rate_limit_is_per_address(open_stack: Stack) -> None:
    with httpx.Client(base_url=f"{open_stack.base_url}/judge0", timeout=scaled(60)) as api:
        replies = [
            api.post("/submissions", json={"source_code": "print(1)", "language_id": 71})
            for _ in range(2 * OPEN_RATE + 1)  # a new minute may start once in the loop
        ]
    refused = [r for r in replies if r.status_code == 429]
    assert refused, [r.status_code for r in replies]
    assert "error" in refused[0].json() and refused[0].headers["retry-after"]


async def test_sdk_from_async_code(sdk: judge0.Client) -> None:
    result = await asyncio.to_thread(run, sdk, source_code="print(5)", language=71)
    assert result.stdout == "5\n"
