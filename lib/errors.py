"""The one exception tree of the project.

    ExecError
    ├── ConfigError              settings missing or unsafe; raised at start-up
    ├── ServiceUnavailable       Redis cannot serve us now: unreachable, timed out, or an error
    │   │                        reply of a passing state (OOM, READONLY, LOADING, BUSY, ...)
    │   └── StoreFault           Redis refused a command for good (WRONGTYPE, NOSCRIPT, ...):
    │                            a bug or a foreign key in our prefix; logged as an error
    ├── RequestError             the client's request is refused; carries code, close code, HTTP
    │   ├── AuthError            bad, expired, replayed or other-job token, bad API key (1008, 401)
    │   ├── PolicyViolation      no `execute` in time, unknown job to resume (1008, 400)
    │   ├── NotFound             no such job, or not this API key's (1008, 404)
    │   ├── TryAgainLater        the API key runs too many jobs right now (1013, 429)
    │   │   ├── RateLimited      the API key created too many jobs this minute (1013, 429)
    │   │   └── QueueFull        the job queue is full (1013, 503)
    │   ├── GatewayGoingAway     the gateway shuts down before the job ended (1001, 503)
    │   ├── MalformedMessage     not JSON, wrong fields or types (1007, 400)
    │   ├── UnexpectedMessage    a message at the wrong moment, or a binary frame (1003, 400)
    │   ├── MessageTooLarge      a frame, the code, the input or the tests too large (1009, 413)
    │   ├── InvalidRequest       well-formed but refused: language, filename, limits (1007, 400)
    │   └── CodeRejected         (lib.validation) the code validator denied the code (1008, 422)
    └── SandboxError             the worker could not run a stage (internal; never the user's fault)
        └── ToolchainMissing     the job's compiler or interpreter is not installed on this worker

Every error carries its data as attributes (`code`, `close_code`, `http_status`, `retry_after_s`);
each door turns them into its own shape in one place. Callers catch these types only.
"""

from __future__ import annotations

from lib.codes import CloseCode, ErrorCode

UNAVAILABLE_RETRY_S = 5  # what a client is told to wait when Redis cannot serve us


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
    http_status = 503
    retry_after_s: int | None = UNAVAILABLE_RETRY_S
    # What a client is told: the reason is for our logs, not for the public.
    public_message = "the service is temporarily unavailable"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class StoreFault(ServiceUnavailable):
    """Redis refused a command in a way that retrying will not mend (e.g. WRONGTYPE)."""


class RequestError(ExecError):
    """The client's request is refused; `code` and `message` go to the client as an error event
    (WebSocket, then close with `close_code`) or a JSON body (REST, with `http_status`)."""

    code: ErrorCode = ErrorCode.INVALID_REQUEST
    close_code: CloseCode = CloseCode.INVALID_PAYLOAD
    http_status: int = 400
    retry_after_s: int | None = None

    def __init__(
        self, message: str, *, code: ErrorCode | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s


class AuthError(RequestError):
    code = ErrorCode.AUTH
    close_code = CloseCode.POLICY_VIOLATION
    http_status = 401


class PolicyViolation(RequestError):
    code = ErrorCode.EXECUTE_TIMEOUT
    close_code = CloseCode.POLICY_VIOLATION


class NotFound(RequestError):
    code = ErrorCode.NOT_FOUND
    close_code = CloseCode.POLICY_VIOLATION
    http_status = 404


class TryAgainLater(RequestError):
    code = ErrorCode.TOO_MANY_RUNNING
    close_code = CloseCode.TRY_AGAIN_LATER
    http_status = 429
    retry_after_s: int | None = 1


class RateLimited(TryAgainLater):
    code = ErrorCode.RATE_LIMITED


class QueueFull(TryAgainLater):
    code = ErrorCode.QUEUE_FULL
    http_status = 503
    retry_after_s: int | None = 5


class GatewayGoingAway(RequestError):
    code = ErrorCode.GOING_AWAY
    close_code = CloseCode.GOING_AWAY
    http_status = 503
    retry_after_s: int | None = 1


class MalformedMessage(RequestError):
    code = ErrorCode.INVALID_MESSAGE
    close_code = CloseCode.INVALID_PAYLOAD


class UnexpectedMessage(RequestError):
    code = ErrorCode.UNEXPECTED_MESSAGE
    close_code = CloseCode.UNSUPPORTED_DATA


class MessageTooLarge(RequestError):
    code = ErrorCode.MESSAGE_TOO_LARGE
    close_code = CloseCode.MESSAGE_TOO_BIG
    http_status = 413


class InvalidRequest(RequestError):
    code = ErrorCode.INVALID_REQUEST
    close_code = CloseCode.INVALID_PAYLOAD


class SandboxError(ExecError):
    """A stage could not be run by the worker (not a failure of the user's program)."""


class ToolchainMissing(SandboxError):
    def __init__(self, language: str) -> None:
        super().__init__(f"the {language} toolchain is not installed on this worker")
        self.language = language
