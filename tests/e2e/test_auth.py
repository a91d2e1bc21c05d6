"""Authentication and malformed requests against the live gateway: every refusal is a clear error
event and the right close code, never a 500, a hang or a silent drop."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest
import websockets

from tests.client import JobConnection, create_job, execute_message, run
from tests.conftest import Stack
from tests.e2e.programs import HELLO

pytestmark = pytest.mark.e2e


async def attempt(stack: Stack, message: dict | str | bytes) -> JobConnection:  # type: ignore[type-arg]
    async with websockets.connect(stack.ws_url) as ws:
        conn = JobConnection(ws)
        await conn.send(message)
        await conn.finish(timeout=15)
    return conn


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
async def test_create_job_requires_api_key(stack: Stack, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        reply = await http.post("/api/jobs/create", headers=headers)
    assert reply.status_code == 401
    body = reply.json()
    assert body["error"]["code"] == "auth"
    assert stack.api_key not in reply.text


async def test_create_job_returns_id_token_and_expiry(stack: Stack) -> None:
    job = await create_job(stack)
    assert len(job["job_id"]) == 32
    assert job["expires_at"].endswith("Z")
    claims = jwt.decode(job["job_token"], stack.jwt_secret, algorithms=["HS256"])
    assert claims["sub"] == job["job_id"]
    assert {"jti", "iat", "exp"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


def assert_auth_refused(conn: JobConnection) -> None:
    assert conn.outcome.error["code"] == "auth"
    assert conn.outcome.close_code == 1008
    assert not [e for e in conn.outcome.events if e["type"] in ("output", "complete")]


async def test_token_is_single_use(stack: Stack) -> None:
    job = await create_job(stack)
    first = await attempt(stack, execute_message(job, "python", HELLO["python"]))
    assert first.outcome.stdout == "hello, world\n"
    replay = await attempt(stack, execute_message(job, "python", HELLO["python"]))
    assert_auth_refused(replay)


async def test_expired_token(stack: Stack) -> None:
    job = await create_job(stack)
    now = int(time.time())
    claims = {"sub": job["job_id"], "jti": "x" * 32, "iat": now - 1000, "exp": now - 100}
    token = jwt.encode(claims, stack.jwt_secret, algorithm="HS256")
    assert_auth_refused(
        await attempt(stack, execute_message({**job, "job_token": token}, "python", "1"))
    )


async def test_tampered_token(stack: Stack) -> None:
    job = await create_job(stack)
    header, payload, signature = job["job_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 3600
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    token = f"{header}.{forged}.{signature}"
    assert_auth_refused(
        await attempt(stack, execute_message({**job, "job_token": token}, "python", "1"))
    )


async def test_token_of_another_job(stack: Stack) -> None:
    mine, other = await create_job(stack), await create_job(stack)
    message = execute_message(
        {"job_id": mine["job_id"], "job_token": other["job_token"]}, "python", "1"
    )
    assert_auth_refused(await attempt(stack, message))


async def test_alg_none_token(stack: Stack) -> None:
    job = await create_job(stack)
    now = int(time.time())
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    claims = {"sub": job["job_id"], "jti": "y" * 32, "iat": now, "exp": now + 600}
    token = f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}."
    assert_auth_refused(
        await attempt(stack, execute_message({**job, "job_token": token}, "python", "1"))
    )


async def test_token_signed_with_other_secret(stack: Stack) -> None:
    job = await create_job(stack)
    now = int(time.time())
    claims = {"sub": job["job_id"], "jti": "z" * 32, "iat": now, "exp": now + 600}
    token = jwt.encode(claims, "another-secret-that-is-long-enough-000", algorithm="HS256")
    assert_auth_refused(
        await attempt(stack, execute_message({**job, "job_token": token}, "python", "1"))
    )


async def test_rejected_request_does_not_spend_the_token(stack: Stack) -> None:
    job = await create_job(stack)
    bad = await attempt(stack, execute_message(job, "cobol", "DISPLAY 'HI'."))
    assert bad.outcome.error["code"] == "unsupported_language"
    good = await attempt(stack, execute_message(job, "python", HELLO["python"]))
    assert good.outcome.stdout == "hello, world\n"


@pytest.mark.parametrize(
    ("frame", "code", "close"),
    [
        ("not json", "invalid_json", 1007),
        ("[1, 2]", "invalid_message", 1007),
        ('{"type": "teleport"}', "invalid_message", 1007),
        ('{"type": "execute", "job_id": 5}', "invalid_message", 1007),
        ('{"type": "input", "data": "x"}', "unexpected_message", 1003),
        (b"\x00\x01binary", "unexpected_message", 1003),
    ],
)
async def test_malformed_first_message(
    stack: Stack, frame: str | bytes, code: str, close: int
) -> None:
    conn = await attempt(stack, frame)
    assert conn.outcome.error["code"] == code
    assert conn.outcome.close_code == close


async def test_no_execute_within_deadline(stack: Stack) -> None:
    async with websockets.connect(stack.ws_url) as ws:
        conn = JobConnection(ws)
        started = time.monotonic()
        await conn.finish(timeout=15)
    assert conn.outcome.error["code"] == "execute_timeout"
    assert conn.outcome.close_code == 1008
    assert 4 <= time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"language": "brainfuck"}, "unsupported_language"),
        ({"limits": {"time_s": 10_000}}, "limit_exceeded"),
        ({"limits": {"memory_mb": 1_000_000}}, "limit_exceeded"),
        ({"filename": "../etc/passwd"}, "invalid_filename"),
        ({"filename": "main"}, "invalid_filename"),
        ({"code": "x" * (70 * 1024)}, "code_too_large"),
        ({"code": None}, "invalid_request"),
    ],
)
async def test_invalid_requests(stack: Stack, fields: dict, code: str) -> None:  # type: ignore[type-arg]
    job = await create_job(stack)
    message = execute_message(job, "python", "print(1)")
    message.update(fields)
    if message.get("code") is None:
        message.pop("code")
    conn = await attempt(stack, message)
    assert conn.outcome.error["code"] == code
    assert conn.outcome.close_code in (1007, 1009)


async def test_language_aliases(stack: Stack) -> None:
    for alias in ("js", "node", "c++"):
        code = 'console.log("hello, world");' if alias != "c++" else None
        language_code = code or '#include <cstdio>\nint main(){std::puts("hello, world");}\n'
        out = await run(stack, alias, language_code)
        assert out.stdout == "hello, world\n", alias
