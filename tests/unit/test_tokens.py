"""lib.tokens: issue and verify (pure). claim_once needs Redis and is not tested here."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime

import jwt
import pytest

from lib.errors import AuthError
from lib.protocol import JOB_ID_PATTERN
from lib.tokens import ALGORITHM, LEEWAY_S, IssuedToken, issue, new_job_id, verify

# 64 bytes: long enough for HS512 too, so PyJWT never warns about the key length.
SECRET = "s" * 64
OTHER_SECRET = "t" * 64
JOB = "0123456789abcdef0123456789abcdef"
OTHER_JOB = "fedcba9876543210fedcba9876543210"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj: object) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {"sub": JOB, "jti": "a" * 32, "iat": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def flip(char: str) -> str:
    return "B" if char == "A" else "A"


# --- ids ----------------------------------------------------------------------------------------


def test_new_job_id_matches_the_job_id_pattern() -> None:
    ids = {new_job_id() for _ in range(50)}
    assert len(ids) == 50
    for job_id in ids:
        assert re.fullmatch(JOB_ID_PATTERN, job_id)


# --- round trip ---------------------------------------------------------------------------------


def test_issue_verify_round_trip() -> None:
    now = time.time()
    issued = issue(SECRET, JOB, ttl_s=60, now=now)
    assert isinstance(issued, IssuedToken)
    assert issued.job_id == JOB
    claims_ = verify(SECRET, issued.token, JOB)
    assert claims_.job_id == JOB
    assert re.fullmatch(r"[0-9a-f]{32}", claims_.jti)
    assert claims_.expires == int(now) + 60
    assert issued.expires_at == datetime.fromtimestamp(int(now) + 60, UTC)
    assert issued.expires_at.tzinfo is not None


def test_issue_without_now_uses_the_clock() -> None:
    before = int(time.time())
    issued = issue(SECRET, JOB, ttl_s=100)
    after = int(time.time())
    claims_ = verify(SECRET, issued.token, JOB)
    assert before + 100 <= claims_.expires <= after + 100


def test_issued_token_is_hs256_with_the_expected_claims() -> None:
    issued = issue(SECRET, JOB, ttl_s=60, now=time.time())
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == ALGORITHM == "HS256"
    payload = jwt.decode(issued.token, SECRET, algorithms=["HS256"])
    assert set(payload) == {"sub", "jti", "iat", "exp"}
    assert payload["sub"] == JOB
    assert payload["exp"] - payload["iat"] == 60


def test_each_issue_has_a_fresh_jti() -> None:
    now = time.time()
    a = verify(SECRET, issue(SECRET, JOB, 60, now=now).token, JOB)
    b = verify(SECRET, issue(SECRET, JOB, 60, now=now).token, JOB)
    assert a.jti != b.jti


def test_verify_accepts_a_hand_made_hs256_token() -> None:
    # Sanity check for the crafted-token tests below: a correct token made with PyJWT passes.
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert verify(SECRET, token, JOB).jti == "a" * 32


# --- expiry -------------------------------------------------------------------------------------


def test_token_expired_by_the_clock_is_rejected() -> None:
    issued = issue(SECRET, JOB, ttl_s=60, now=time.time() - 1000)
    with pytest.raises(AuthError, match="expired"):
        verify(SECRET, issued.token, JOB)


def test_token_expired_at_the_given_now_is_rejected() -> None:
    now = time.time()
    issued = issue(SECRET, JOB, ttl_s=60, now=now)
    exp = int(now) + 60
    with pytest.raises(AuthError, match="expired"):
        verify(SECRET, issued.token, JOB, now=exp + LEEWAY_S + 1)


def test_expiry_leeway_boundary_with_now() -> None:
    now = time.time()
    issued = issue(SECRET, JOB, ttl_s=60, now=now)
    exp = int(now) + 60
    assert verify(SECRET, issued.token, JOB, now=exp).expires == exp
    assert verify(SECRET, issued.token, JOB, now=exp + LEEWAY_S).expires == exp
    with pytest.raises(AuthError):
        verify(SECRET, issued.token, JOB, now=exp + LEEWAY_S + 0.5)


def test_token_just_past_expiry_is_within_leeway() -> None:
    issued = issue(SECRET, JOB, ttl_s=60, now=time.time() - 62)
    assert verify(SECRET, issued.token, JOB).job_id == JOB


def test_token_with_zero_ttl_expires_after_leeway() -> None:
    now = time.time()
    issued = issue(SECRET, JOB, ttl_s=0, now=now)
    with pytest.raises(AuthError):
        verify(SECRET, issued.token, JOB, now=now + LEEWAY_S + 2)


# --- tampering ----------------------------------------------------------------------------------


def test_flipped_signature_char_is_rejected() -> None:
    token = issue(SECRET, JOB, ttl_s=60).token
    header, payload, signature = token.split(".")
    # The first character carries six full bits of the signature, so flipping it always changes it.
    tampered = f"{header}.{payload}.{flip(signature[0])}{signature[1:]}"
    assert tampered != token
    with pytest.raises(AuthError):
        verify(SECRET, tampered, JOB)


def test_flipped_signature_char_in_the_middle_is_rejected() -> None:
    token = issue(SECRET, JOB, ttl_s=60).token
    header, payload, signature = token.split(".")
    mid = len(signature) // 2
    tampered_sig = signature[:mid] + flip(signature[mid]) + signature[mid + 1 :]
    with pytest.raises(AuthError):
        verify(SECRET, f"{header}.{payload}.{tampered_sig}", JOB)


def test_flipped_payload_char_is_rejected() -> None:
    token = issue(SECRET, JOB, ttl_s=60).token
    header, payload, signature = token.split(".")
    tampered = f"{header}.{flip(payload[0])}{payload[1:]}.{signature}"
    with pytest.raises(AuthError):
        verify(SECRET, tampered, JOB)


def test_re_encoded_payload_with_later_expiry_is_rejected() -> None:
    token = issue(SECRET, JOB, ttl_s=60).token
    header, payload, signature = token.split(".")
    body = json.loads(b64url_decode(payload))
    body["exp"] += 10_000
    forged = f"{header}.{b64url_json(body)}.{signature}"
    with pytest.raises(AuthError):
        verify(SECRET, forged, JOB)


def test_re_encoded_payload_for_another_job_is_rejected() -> None:
    token = issue(SECRET, JOB, ttl_s=60).token
    header, payload, signature = token.split(".")
    body = json.loads(b64url_decode(payload))
    body["sub"] = OTHER_JOB
    forged = f"{header}.{b64url_json(body)}.{signature}"
    with pytest.raises(AuthError):
        verify(SECRET, forged, OTHER_JOB)


def test_signature_stripped_is_rejected() -> None:
    token = issue(SECRET, JOB, ttl_s=60).token
    header, payload, _ = token.split(".")
    with pytest.raises(AuthError):
        verify(SECRET, f"{header}.{payload}.", JOB)


# --- wrong job ----------------------------------------------------------------------------------


def test_token_for_another_job_is_rejected() -> None:
    token = issue(SECRET, OTHER_JOB, ttl_s=60).token
    with pytest.raises(AuthError, match="this job"):
        verify(SECRET, token, JOB)


def test_job_id_comparison_is_exact() -> None:
    token = issue(SECRET, JOB, ttl_s=60).token
    for near in (JOB.upper(), JOB + " ", JOB[:-1], ""):
        with pytest.raises(AuthError):
            verify(SECRET, token, near)


# --- algorithm and key --------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_token_is_rejected(alg: str) -> None:
    header = b64url_json({"alg": alg, "typ": "JWT"})
    token = f"{header}.{b64url_json(claims())}."
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)


def test_alg_none_token_with_a_valid_hs256_signature_attached_is_rejected() -> None:
    good = jwt.encode(claims(), SECRET, algorithm="HS256")
    signature = good.split(".")[2]
    header = b64url_json({"alg": "none", "typ": "JWT"})
    token = f"{header}.{b64url_json(claims())}.{signature}"
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)


@pytest.mark.parametrize("alg", ["HS512", "HS384"])
def test_token_signed_with_another_hmac_algorithm_is_rejected(alg: str) -> None:
    token = jwt.encode(claims(), SECRET, algorithm=alg)
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)


def test_token_signed_with_another_secret_is_rejected() -> None:
    token = issue(OTHER_SECRET, JOB, ttl_s=60).token
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)


def test_hs256_header_signed_with_hs512_bytes_is_rejected() -> None:
    # Header says HS256 but the signature was made with HS512 over the same input.
    good = jwt.encode(claims(), SECRET, algorithm="HS512")
    _, payload, signature = good.split(".")
    header = b64url_json({"alg": "HS256", "typ": "JWT"})
    with pytest.raises(AuthError):
        verify(SECRET, f"{header}.{payload}.{signature}", JOB)


# --- claims -------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["sub", "jti", "iat", "exp"])
def test_missing_claim_is_rejected(missing: str) -> None:
    body = claims()
    del body[missing]
    token = jwt.encode(body, SECRET, algorithm="HS256")
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)


def test_empty_jti_is_rejected() -> None:
    token = jwt.encode(claims(jti=""), SECRET, algorithm="HS256")
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)


@pytest.mark.parametrize("field", ["sub", "jti"])
def test_non_string_identity_claims_are_rejected(field: str) -> None:
    # PyJWT itself refuses a non-string `sub` or `jti`; either way the result must be AuthError.
    body = claims()
    body[field] = 12345
    token = jwt.encode(body, SECRET, algorithm="HS256")
    with pytest.raises(AuthError):
        verify(SECRET, token, "12345" if field == "sub" else JOB)


def test_non_numeric_exp_is_rejected() -> None:
    token = jwt.encode(claims(exp="never"), SECRET, algorithm="HS256")
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "a.b.c.d", "...", "\u00e9.\u00e9.\u00e9"],
)
def test_garbage_tokens_are_rejected(token: str) -> None:
    with pytest.raises(AuthError):
        verify(SECRET, token, JOB)
