"""lib.apikeys: constant-time API key checks."""

from __future__ import annotations

import pytest

from lib.apikeys import ApiKeys

KEYS = ApiKeys(["alpha-key-1", "beta-key-2"])


@pytest.mark.parametrize("key", ["alpha-key-1", "beta-key-2"])
def test_known_keys_pass(key: str) -> None:
    assert KEYS.check(key) is True


@pytest.mark.parametrize(
    "presented",
    [
        "wrong",
        "alpha-key-",
        "alpha-key-12",
        "ALPHA-KEY-1",
        " alpha-key-1",
        "alpha-key-1 ",
        "alpha-key-1\n",
        "alpha-key-1,beta-key-2",
        "\x00",
    ],
)
def test_wrong_keys_fail(presented: str) -> None:
    assert KEYS.check(presented) is False


@pytest.mark.parametrize("presented", ["", None])
def test_empty_or_missing_key_fails(presented: str | None) -> None:
    assert KEYS.check(presented) is False


def test_no_configured_keys_rejects_everything() -> None:
    keys = ApiKeys([])
    assert keys.check("anything") is False
    assert keys.check("") is False
    assert keys.check(None) is False


def test_an_empty_configured_key_is_not_matched_by_an_empty_presented_key() -> None:
    assert ApiKeys([""]).check("") is False


def test_non_ascii_key() -> None:
    keys = ApiKeys(["cl\u00e9-\U0001f511"])
    assert keys.check("cl\u00e9-\U0001f511") is True
    assert keys.check("cle-\U0001f511") is False


def test_lone_surrogate_presented_key_fails_without_raising() -> None:
    assert KEYS.check("\ud800") is False


def test_raw_keys_are_not_kept() -> None:
    keys = ApiKeys(["super-secret-value"])
    assert "super-secret-value" not in repr(vars(keys))
    assert keys.check("super-secret-value") is True
