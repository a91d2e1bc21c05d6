"""The one exception tree of the project.

    ExecError
    ├── ConfigError              settings missing or unsafe; raised at start-up
    ├── ServiceUnavailable       Redis cannot serve us now: unreachable, timed out, or an error
    │   │                        reply of a passing state (OOM, READONLY, LOADING, BUSY, ...)
    │   └── StoreFault           Redis refused a command for good (WRONGTYPE, NOSCRIPT, ...):
    │                            a bug or a foreign key in our prefix; logged as an error
    ├── RequestError             the client's request is refused; carries code and close code
    │   ├── AuthError            bad, expired, replayed or other-job token (close 1008)
    │   ├── PolicyViolation      no `execute` in time, unknown job to resume (close 1008)
    │   ├── TryAgainLater        the API key runs too many jobs right now (close 1013)
    │   ├── MalformedMessage     not JSON, wrong fields or types (close 1007)
    │   ├── UnexpectedMessage    a message at the wrong moment, or a binary frame (close 1003)
    │   ├── MessageTooLarge      a frame or the code is over its size limit (close 1009)
    │   └── InvalidRequest       well-formed but refused: language, filename, limits (close 1007)
    └── SandboxError             the worker could not run a stage (internal; never the user's fault)
        └── ToolchainMissing     the job's compiler or interpreter is not installed on this worker

Every error carries its data as attributes; callers catch these types only.
"""

from __future__ import annotations

from lib.protocol import CloseCode, ErrorCode


class ExecError(Exception):
    """Base of every error raised by this project."""


class ConfigError(ExecError):
    """Settings are missing or unsafe; the process must not start."""


class ServiceUnavailable(ExecError):
    """Redis (or another required service) cannot serve us right now.

    Every redis-py exception becomes this (or StoreFault) in lib.store, so a Redis error reply
    never escapes as a foreign type: callers back off, the gateway answers 503 or `unavailable`.
    `reason` is the short name of what happened (`OOM`, `READONLY`, `ConnectionError`, ...)."""

    code = ErrorCode.UNAVAILABLE
    close_code = CloseCode.TRY_AGAIN_LATER

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class StoreFault(ServiceUnavailable):
    """Redis refused a command in a way that retrying will not mend (e.g. WRONGTYPE)."""


class RequestError(ExecError):
    """The client's request is refused; `code` and `message` go to the client as an error event."""

    code: ErrorCode = ErrorCode.INVALID_REQUEST
    close_code: CloseCode = CloseCode.INVALID_PAYLOAD

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class AuthError(RequestError):
    code = ErrorCode.AUTH
    close_code = CloseCode.POLICY_VIOLATION


class PolicyViolation(RequestError):
    code = ErrorCode.EXECUTE_TIMEOUT
    close_code = CloseCode.POLICY_VIOLATION


class TryAgainLater(RequestError):
    code = ErrorCode.TOO_MANY_RUNNING
    close_code = CloseCode.TRY_AGAIN_LATER


class MalformedMessage(RequestError):
    code = ErrorCode.INVALID_MESSAGE
    close_code = CloseCode.INVALID_PAYLOAD


class UnexpectedMessage(RequestError):
    code = ErrorCode.UNEXPECTED_MESSAGE
    close_code = CloseCode.UNSUPPORTED_DATA


class MessageTooLarge(RequestError):
    code = ErrorCode.MESSAGE_TOO_LARGE
    close_code = CloseCode.MESSAGE_TOO_BIG


class InvalidRequest(RequestError):
    code = ErrorCode.INVALID_REQUEST
    close_code = CloseCode.INVALID_PAYLOAD


class SandboxError(ExecError):
    """A stage could not be run by the worker (not a failure of the user's program)."""


class ToolchainMissing(SandboxError):
    def __init__(self, language: str) -> None:
        super().__init__(f"the {language} toolchain is not installed on this worker")
        self.language = language
