"""The named values every layer shares: verdicts, error codes, WebSocket close codes. Pure.

Kept apart from lib.protocol (the wire models) and lib.errors (the exception tree) so that both can
import them without importing each other.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Status(StrEnum):
    """The verdict in a `complete` message."""

    OK = "ok"  # exited with code 0
    RUNTIME_ERROR = "runtime_error"  # nonzero exit or killed by a signal
    COMPILE_ERROR = "compile_error"  # the compiler refused the program
    TIMEOUT = "timeout"  # wall-clock or CPU-time limit reached
    MEMORY_LIMIT = "memory_limit"  # the memory limit was reached
    OUTPUT_LIMIT = "output_limit"  # more output than the output limit
    KILLED = "killed"  # stopped by the client's `kill`
    INTERNAL_ERROR = "internal_error"  # our fault, not the program's
    # Judge mode (`tests`): a test's output matched, or did not; a job's verdict is `accepted`
    # when every test was, else the first failing test's verdict.
    ACCEPTED = "accepted"
    WRONG_ANSWER = "wrong_answer"


class CloseCode(IntEnum):
    """WebSocket close codes we use (RFC 6455 section 7.4.1)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


class ErrorCode(StrEnum):
    """The machine-readable `code` of an `error` message."""

    AUTH = "auth"
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNEXPECTED_MESSAGE = "unexpected_message"
    MESSAGE_TOO_LARGE = "message_too_large"
    EXECUTE_TIMEOUT = "execute_timeout"
    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    INVALID_FILENAME = "invalid_filename"
    LIMIT_EXCEEDED = "limit_exceeded"
    CODE_TOO_LARGE = "code_too_large"
    INPUT_TOO_LARGE = "input_too_large"
    LANGUAGE_UNAVAILABLE = "language_unavailable"
    CODE_REJECTED = "code_rejected"
    UNAVAILABLE = "unavailable"
    QUEUE_FULL = "queue_full"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_RUNNING = "too_many_running"
    GOING_AWAY = "going_away"
    RESUME_EXPIRED = "resume_expired"
    NOT_FOUND = "not_found"
    INTERNAL_ERROR = "internal_error"
