"""Settings, loaded once from the environment and an optional `.env`, then passed in.

Every setting is documented in `.env.example`. `load_settings()` fails fast on values of the wrong
type or range; the gateway also refuses to start without a strong JWT secret and an API key
(`require_gateway_secrets`).
"""

from __future__ import annotations

import os
from enum import StrEnum

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lib.errors import ConfigError

MIN_SECRET_BYTES = 32


class ValidationMode(StrEnum):
    OFF = "off"
    WARN = "warn"
    DENY = "deny"


class ApiMode(StrEnum):
    """How a compatible API (Piston, Judge0) is served: `key` (an API key required, the default),
    `open` (no key, for private networks, rate-limited per client address) or `off` (404)."""

    KEY = "key"
    OPEN = "open"
    OFF = "off"


class LogFormat(StrEnum):
    JSON = "json"  # one JSON object per line (lib.logs)
    TEXT = "text"  # plain lines, for a person at a terminal


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # -- shared --
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.JSON
    key_prefix: str = "cexec"
    # A worker renews its heartbeat this often; it lapses after the TTL. Gateways check the
    # worker of a job whose events stopped this often too (issue 7.1: a single worker's death).
    heartbeat_s: float = Field(default=2.0, gt=0)
    heartbeat_ttl_s: int = Field(default=6, gt=0)

    # -- gateway --
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: str = ""  # comma-separated
    api_key: str = ""  # a single key, accepted too
    jwt_secret: SecretStr = SecretStr("")
    job_token_ttl_s: int = Field(default=900, gt=0)
    execute_wait_s: float = Field(default=5.0, gt=0)
    max_message_kb: int = Field(default=2048, gt=0)  # room for MAX_CODE_KB plus MAX_TESTS_KB
    max_files: int = Field(default=16, gt=0)
    max_file_kb: int = Field(default=64, gt=0)
    max_code_kb: int = Field(default=256, gt=0)
    max_args: int = Field(default=64, ge=0)
    max_input_kb: int = Field(default=8192, gt=0)
    max_tests: int = Field(default=100, gt=0)  # judge mode: test cases in one job
    max_tests_kb: int = Field(default=1024, gt=0)  # their stdin and expected output, in all
    event_ttl_s: int = Field(default=3600, gt=0)  # how long a job's events stay resumable
    resume_grace_s: float = Field(default=30.0, ge=0)  # a resumable job's wait for its client
    result_ttl_s: int = Field(default=3600, gt=0)  # how long a finished job's result is kept
    # -- admission: 0 turns a limit off --
    max_queue_length: int = Field(default=1000, ge=0)  # jobs queued or running, all keys
    rate_limit_per_minute: int = Field(default=600, ge=0)  # job creations per API key
    max_running_per_key: int = Field(default=50, ge=0)  # admitted, unfinished jobs per API key
    code_validation: ValidationMode = ValidationMode.DENY
    # -- the compatible APIs (docs/compat.md) --
    piston_api: ApiMode = ApiMode.KEY  # /api/v2
    judge0_api: ApiMode = ApiMode.KEY  # /judge0
    validation_policy: str = ""  # a TOML policy file; empty: lib/validation/policy.toml

    # -- limits: each is both the default of a job and the cap a job may ask for --
    execution_timeout: float = Field(default=10.0, gt=0)
    compilation_timeout: float = Field(default=30.0, gt=0)
    max_memory_mb: int = Field(default=256, ge=16)  # lib.jobs.MIN_MEMORY_MB
    max_output_kb: int = Field(default=1024, gt=0)

    # -- worker --
    worker_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, gt=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)  # running jobs' time to finish on SIGTERM
    languages: str = ""  # comma-separated names this worker serves; empty: every one it finds
    compile_memory_mb: int = Field(default=1024, gt=0)
    max_processes: int = Field(default=64, gt=0)
    max_open_files: int = Field(default=256, gt=0)
    max_file_size_mb: int = Field(default=64, gt=0)
    job_disk_mb: int = Field(default=128, gt=0)  # each slot's job storage (a tmpfs)
    job_inodes: int = Field(default=8192, gt=0)  # files and directories in it
    sandbox_user_prefix: str = "cexec-sb"
    native_dir: str = "/usr/local/lib/cexec"
    cgroup_name: str = "cexec"
    firejail: str = "firejail"

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def api_key_list(self) -> list[str]:
        keys = [k.strip() for k in self.api_keys.split(",") if k.strip()]
        if self.api_key.strip():
            keys.append(self.api_key.strip())
        return keys

    @property
    def language_list(self) -> list[str] | None:
        names = [n.strip() for n in self.languages.split(",") if n.strip()]
        return names or None

    def require_gateway_secrets(self) -> None:
        """The gateway refuses to start without a strong JWT secret and at least one API key."""
        secret = self.jwt_secret.get_secret_value().encode()
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET must be set and at least {MIN_SECRET_BYTES} bytes long")
        if not self.api_key_list:
            raise ConfigError("API_KEYS (or API_KEY) must name at least one key")


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; raise ConfigError with a readable reason on bad values."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]).upper() for e in exc.errors() if e["loc"])
        raise ConfigError(f"invalid settings: {fields}: {exc.errors()[0]['msg']}") from exc
