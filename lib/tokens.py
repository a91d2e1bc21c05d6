"""Single-use job tokens: HS256 JWTs whose `sub` is the job id.

`issue` and `verify` are pure. `claim_once` spends a token in Redis with SET NX, so a token works
for exactly one successful `execute`; if Redis cannot answer, the claim fails (never fails open).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from lib.errors import AuthError
from lib.keys import Keys
from lib.store import Redis, translate_errors

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "jti", "iat", "exp"]
LEEWAY_S = 5


@dataclass(frozen=True)
class IssuedToken:
    job_id: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenClaims:
    job_id: str
    jti: str
    expires: int
    key_id: str = ""  # the API key that created the job (lib.apikeys), for per-key limits


def new_job_id() -> str:
    return secrets.token_hex(16)


def issue(
    secret: str, job_id: str, ttl_s: int, now: float | None = None, key_id: str = ""
) -> IssuedToken:
    issued = int(now if now is not None else time.time())
    exp = issued + ttl_s
    claims: dict[str, Any] = {
        "sub": job_id,
        "jti": secrets.token_hex(16),
        "iat": issued,
        "exp": exp,
    }
    if key_id:
        claims["kid"] = key_id
    token = jwt.encode(claims, secret, algorithm=ALGORITHM)
    return IssuedToken(job_id, token, datetime.fromtimestamp(exp, UTC))


def verify(secret: str, token: str, job_id: str, now: float | None = None) -> TokenClaims:
    """Check signature, algorithm, expiry and that the token belongs to `job_id`."""
    options: Any = {"require": REQUIRED_CLAIMS, "verify_iat": False}
    try:
        # The algorithm is pinned: a token signed with anything but HS256, or `alg: none`, fails.
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=options, leeway=LEEWAY_S)
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("job token has expired") from exc
    except (jwt.PyJWTError, UnicodeError) as exc:  # a token JSON can carry but UTF-8 cannot
        raise AuthError("job token is invalid") from exc
    if now is not None and claims["exp"] + LEEWAY_S < now:
        raise AuthError("job token has expired")
    if not isinstance(claims["sub"], str) or claims["sub"] != job_id:
        raise AuthError("job token does not belong to this job")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise AuthError("job token is invalid")
    key_id = claims.get("kid", "")
    return TokenClaims(
        job_id=claims["sub"],
        jti=claims["jti"],
        expires=int(claims["exp"]),
        key_id=key_id if isinstance(key_id, str) else "",
    )


RESUME = "resume"


def issue_resume(secret: str, job_id: str, ttl_s: int, key_id: str = "") -> str:
    """A reusable token to reattach to a job's streams; unlike the job token it has no `jti`
    (so it can never pass as one) and `typ` = "resume"."""
    now = int(time.time())
    claims = {"sub": job_id, "typ": RESUME, "kid": key_id, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_resume(secret: str, token: str, job_id: str) -> str:
    """The key id of a valid resume token for `job_id`; AuthError otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "typ", "exp"]},
            leeway=LEEWAY_S,
        )
    except (jwt.PyJWTError, UnicodeError) as exc:  # a token JSON can carry but UTF-8 cannot
        raise AuthError("resume token is invalid or expired") from exc
    if claims.get("typ") != RESUME or claims.get("sub") != job_id:
        raise AuthError("resume token does not belong to this job")
    key_id = claims.get("kid", "")
    return key_id if isinstance(key_id, str) else ""


async def claim_once(redis: Redis, keys: Keys, claims: TokenClaims) -> None:
    """Spend the token: AuthError if spent before, ServiceUnavailable if Redis is down."""
    ttl = max(claims.expires - int(time.time()) + LEEWAY_S, 1)
    async with translate_errors():
        fresh = await redis.set(keys.token_use(claims.jti), claims.job_id, nx=True, ex=ttl)
    if not fresh:
        raise AuthError("job token has already been used")
