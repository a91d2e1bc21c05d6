"""lib.config: Settings, its secret checks, and load_settings' error translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lib.config import MIN_SECRET_BYTES, Settings, ValidationMode, load_settings
from lib.errors import ConfigError, ExecError

GOOD_SECRET = "x" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting comes from the caller's environment or from a stray .env file."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# --- require_gateway_secrets --------------------------------------------------------------------


def test_gateway_secrets_ok() -> None:
    Settings(jwt_secret=GOOD_SECRET, api_keys="k").require_gateway_secrets()


def test_missing_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings(api_keys="k").require_gateway_secrets()


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings(jwt_secret="", api_keys="k").require_gateway_secrets()


def test_short_secret_is_refused() -> None:
    assert MIN_SECRET_BYTES == 32
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings(jwt_secret="x" * 31, api_keys="k").require_gateway_secrets()


def test_secret_of_exactly_the_minimum_is_accepted() -> None:
    Settings(jwt_secret="x" * 32, api_keys="k").require_gateway_secrets()


def test_secret_length_is_counted_in_bytes() -> None:
    # 16 two-byte characters are 32 bytes; 15 are 30.
    Settings(jwt_secret="\u00e9" * 16, api_keys="k").require_gateway_secrets()
    with pytest.raises(ConfigError):
        Settings(jwt_secret="\u00e9" * 15, api_keys="k").require_gateway_secrets()


@pytest.mark.parametrize(("api_keys", "api_key"), [("", ""), (" , ,", " "), (",", "")])
def test_no_api_key_is_refused(api_keys: str, api_key: str) -> None:
    settings = Settings(jwt_secret=GOOD_SECRET, api_keys=api_keys, api_key=api_key)
    with pytest.raises(ConfigError, match="API_KEY"):
        settings.require_gateway_secrets()


def test_single_api_key_is_enough() -> None:
    Settings(jwt_secret=GOOD_SECRET, api_key="only").require_gateway_secrets()


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", GOOD_SECRET)
    monkeypatch.setenv("API_KEYS", "k")
    settings = load_settings()
    settings.require_gateway_secrets()
    assert settings.jwt_secret.get_secret_value() == GOOD_SECRET
    assert GOOD_SECRET not in repr(settings)
    assert GOOD_SECRET not in str(settings)


def test_config_error_is_an_exec_error() -> None:
    with pytest.raises(ExecError):
        Settings().require_gateway_secrets()


# --- API keys -----------------------------------------------------------------------------------


def test_api_key_list_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", "a, b,,c ")
    monkeypatch.setenv("API_KEY", " d ")
    assert Settings().api_key_list == ["a", "b", "c", "d"]


def test_api_key_list_env_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("api_keys", "one,two")
    assert Settings().api_key_list == ["one", "two"]


def test_api_key_list_only_api_key() -> None:
    assert Settings(api_key="solo").api_key_list == ["solo"]


def test_api_key_list_only_api_keys() -> None:
    assert Settings(api_keys="x,y").api_key_list == ["x", "y"]


def test_api_key_list_empty() -> None:
    assert Settings().api_key_list == []


# --- defaults and sources -----------------------------------------------------------------------


def test_defaults() -> None:
    s = Settings()
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.host == "127.0.0.1"
    assert s.port == 8000
    assert s.execution_timeout == 10.0
    assert s.max_memory_mb == 256
    assert s.max_output_kb == 1024
    assert s.code_validation is ValidationMode.DENY
    assert s.worker_concurrency >= 1
    assert s.jwt_secret.get_secret_value() == ""


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("EXECUTION_TIMEOUT", "2.5")
    monkeypatch.setenv("CODE_VALIDATION", "warn")
    s = load_settings()
    assert s.port == 9001
    assert s.execution_timeout == 2.5
    assert s.code_validation is ValidationMode.WARN


def test_dotenv_in_the_working_directory_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("PORT=1234\nAPI_KEYS=from-dotenv\n")
    s = load_settings()
    assert s.port == 1234
    assert s.api_key_list == ["from-dotenv"]


def test_environment_wins_over_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("PORT=1234\n")
    monkeypatch.setenv("PORT", "4321")
    assert load_settings().port == 4321


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "4321")
    assert load_settings(port=5555).port == 5555


def test_unknown_environment_names_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOT_A_SETTING", "x")
    assert load_settings(not_a_setting_either=1).port == 8000


# --- load_settings error translation ------------------------------------------------------------


def test_bad_port_from_env_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "abc")
    with pytest.raises(ConfigError, match="PORT") as info:
        load_settings()
    assert not isinstance(info.value, ValidationError)
    assert isinstance(info.value.__cause__, ValidationError)


def test_bad_port_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="PORT"):
        load_settings(port="abc")


def test_bad_value_in_dotenv_is_a_config_error(clean_env: Path) -> None:
    (clean_env / ".env").write_text("MAX_FILES=many\n")
    with pytest.raises(ConfigError, match="MAX_FILES"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("MAX_FILES", "0"),
        ("EXECUTION_TIMEOUT", "-1"),
        ("JOB_TOKEN_TTL_S", "0"),
        ("MAX_ARGS", "-1"),
        ("CODE_VALIDATION", "maybe"),
        ("WORKER_CONCURRENCY", "0"),
        ("MAX_MEMORY_MB", "lots"),
    ],
)
def test_invalid_values_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value)
    assert "invalid settings" in str(info.value)


def test_config_error_names_every_bad_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "abc")
    monkeypatch.setenv("MAX_FILES", "0")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "PORT" in str(info.value)
    assert "MAX_FILES" in str(info.value)


@pytest.mark.parametrize("url", ["redis://h:1/0", "rediss://h:1/0", "unix:///run/redis.sock"])
def test_accepted_redis_schemes(url: str) -> None:
    assert load_settings(redis_url=url).redis_url == url


def test_max_args_zero_is_allowed() -> None:
    assert load_settings(max_args=0).max_args == 0


# --- LANGUAGES ----------------------------------------------------------------------------------


def test_language_list_empty_means_every_language() -> None:
    assert Settings().language_list is None
    assert Settings(languages=" , ,").language_list is None


def test_language_list_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(languages=" c, python ,,rust").language_list == ["c", "python", "rust"]
    monkeypatch.setenv("LANGUAGES", "cpp")
    assert load_settings().language_list == ["cpp"]
