"""lib/piston.py, pure: golden request/response pairs for every field, default, limit rule and
error message of Piston v2 (../shared/COMPAT.md sections 1 and 2), read from upstream's source
(engineer-man/piston @ 0a844d0: api/src/api/v2.js, api/src/job.js, api/src/runtime.js).

No server: what the door does with these is tests/e2e/test_piston.py."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from lib import piston
from lib.codes import Status
from lib.config import Settings
from lib.errors import InvalidRequest, MalformedMessage, RequestError
from lib.jobs import build_spec
from lib.protocol import Complete, Output, RequestLimits, SourceFile, StageEvent, Stream
from lib.results import JobResult
from services.worker import verdict
from services.worker.stage import ReaperStatus, StageResult, Stop

DETECTED = {
    "python": ["Python 3.11.2"],
    "javascript": ["v20.20.2"],
    "c": ["gcc (Debian 12.2.0-14+deb12u1) 12.2.0"],
    "cpp": ["g++ (Debian 12.2.0-14+deb12u1) 12.2.0"],
    "rust": ["rustc 1.96.0 (4a3a4b2c1 2026-05-11)"],
}
RUNTIMES = piston.runtimes(DETECTED)
SETTINGS = Settings(
    _env_file=None,  # type: ignore[call-arg]
    execution_timeout=10,
    compilation_timeout=30,
    max_memory_mb=256,
    compile_memory_mb=1024,
)
CAPS = piston.Caps.of(SETTINGS)
HELLO = {"content": "print('hi')"}


def job(**fields: Any) -> piston.PistonJob:
    body = {"language": "python", "version": "*", "files": [HELLO], **fields}
    return piston.job(body, RUNTIMES, CAPS)


def refused(body: Any, runtimes: list[piston.Runtime] | None = None) -> RequestError:
    with pytest.raises(RequestError) as caught:
        piston.job(body, RUNTIMES if runtimes is None else runtimes, CAPS)
    return caught.value


# -- runtimes ------------------------------------------------------------------------------------


def test_runtimes_are_pistons_names_with_the_detected_versions() -> None:
    assert [rt.as_json() for rt in RUNTIMES] == [
        {
            "language": "python",
            "version": "3.11.2",
            "aliases": ["py", "py3", "python3", "python3.11"],
        },
        {
            "language": "javascript",
            "version": "20.20.2",
            "aliases": ["node-javascript", "node-js", "javascript", "js"],
            "runtime": "node",
        },
        {"language": "c", "version": "12.2.0", "aliases": ["gcc"], "runtime": "gcc"},
        {"language": "c++", "version": "12.2.0", "aliases": ["cpp", "g++"], "runtime": "gcc"},
        {"language": "rust", "version": "1.96.0", "aliases": ["rs"]},
    ]


@pytest.mark.parametrize(
    ("detected", "version"),
    [
        ("Python 3.11.2", "3.11.2"),
        ("v20.20.2", "20.20.2"),
        ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0", "12.2.0"),
        ("rustc 1.96.0 (59807616e 2026-04-14)", "1.96.0"),
        ("Python 3.12.0rc1", "3.12.0"),  # no whole word: the first x.y.z anywhere
        ("tool 7.1", "7.1.0"),
        ("no version here", None),
    ],
)
def test_the_semver_of_a_toolchains_version_line(detected: str, version: str | None) -> None:
    assert piston.semver_of(detected) == version


def test_one_runtime_per_version_in_order_and_languages_without_a_worker_left_out() -> None:
    found = piston.runtimes({"python": ["Python 3.12.1", "Python 3.9.18", "Python 3.12.1"]})
    assert [(rt.language, rt.version) for rt in found] == [
        ("python", "3.9.18"),
        ("python", "3.12.1"),
    ]
    assert found[1].aliases[-1] == "python3.12"
    assert piston.runtimes({}) == []


def test_packages_list_each_package_once_installed() -> None:
    assert piston.packages(RUNTIMES) == [
        {"language": "python", "language_version": "3.11.2", "installed": True},
        {"language": "node", "language_version": "20.20.2", "installed": True},
        {"language": "gcc", "language_version": "12.2.0", "installed": True},
        {"language": "rust", "language_version": "1.96.0", "installed": True},
    ]


# -- versions: node-semver 7.3.5 (upstream's package-lock), golden values from it ------------------

SATISFIES = [
    ("3.11.2", "*", True),
    ("3.11.2", "x", True),
    ("3.11.2", "", True),
    ("3.11.2", "3", True),
    ("3.11.2", "3.x", True),
    ("3.11.2", "3.11", True),
    ("3.11.2", "3.11.2", True),
    ("3.11.2", "=3.11.2", True),
    ("3.11.2", "v3.11.2", True),
    ("3.11.2", "3.11.1", False),
    ("3.11.2", "3.12", False),
    ("3.11.2", "^3.11", True),
    ("3.11.2", "^3.11.3", False),
    ("3.11.2", "~3.11", True),
    ("3.12.0", "~3.11", False),
    ("3.11.2", ">=3.10", True),
    ("3.11.2", ">= 3.10", True),
    ("3.11.2", "<3.12", True),
    ("3.12.0", "<3.12", False),
    ("3.11.2", "<=3.11", True),
    ("3.11.2", ">3.11", False),
    ("3.12.0", ">3.11", True),
    ("3.11.2", "3.10 - 3.12", True),
    ("3.11.2", "3.11.0 - 3.11.1", False),
    ("20.20.2", "3.11.2 - 3", False),
    ("0.2.5", "^0.2.3", True),
    ("0.3.0", "^0.2.3", False),
    ("0.0.3", "^0.0.3", True),
    ("0.0.4", "^0.0.3", False),
    ("1.0.0", ">1", False),
    ("2.0.0", ">1", True),
    ("1.96.0", "<=1", True),
    ("2.0.0", "<=1", False),
    ("3.11.2", "1 || 3", True),
    ("20.20.2", "^20", True),
    ("20.20.2", "~20.20", True),
    ("12.2.0", ">= 3.10 <3.12", False),
    ("3.11.2", "3.11 3.12", False),
    ("3.11.2", "~> 3.11", True),
    ("3.11.2", "*.1", True),  # 7.3.5 reads it as "*" (7.6 refuses it)
    ("1.5.2", "1.x.3", True),
    ("3.11.2", "latest", False),  # invalid ranges satisfy nothing
    ("3.11.2", "3.11.2.1", False),
    ("3.11.2", ">=>3", False),
    ("3.11.2", "01.2.3", False),
    ("3.11.2", "3.11.2-beta", False),
    ("3.11.2", ">=3.11.2-beta", True),
    ("3.11.2-beta", "*", False),  # prereleases do not match *
    ("3.11.2-beta", ">=3.11.2-alpha", True),
    ("3.11.3-beta", ">=3.11.2-alpha", False),
    ("3.11.2-beta.2", ">3.11.2-beta.10", False),  # numeric identifiers compare as numbers
    ("3.11.2-beta.x", ">3.11.2-beta.10", True),  # and below alphanumeric ones
    ("3.11.2", "<0.0.0-0", False),
    ("3.11.2", ">*", False),
]


@pytest.mark.parametrize(("version", "range_", "expected"), SATISFIES)
def test_satisfies_as_node_semver(version: str, range_: str, expected: bool) -> None:
    assert piston.satisfies(version, range_) is expected


def test_the_highest_match_wins_by_name_or_alias_case_sensitive() -> None:
    found = piston.runtimes({"python": ["Python 3.9.18", "Python 3.12.1", "Python 3.11.2"]})
    assert piston.find_runtime(found, "python", "*").version == "3.12.1"  # type: ignore[union-attr]
    assert piston.find_runtime(found, "py3", "<3.12").version == "3.11.2"  # type: ignore[union-attr]
    assert piston.find_runtime(found, "python3.9", "3").version == "3.9.18"  # type: ignore[union-attr]
    assert piston.find_runtime(found, "Python", "*") is None
    assert piston.find_runtime(found, "python", "4") is None


# -- the request: Piston's 400s, in upstream's order ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "language is required as a string"),
        ([], "language is required as a string"),
        ({"language": "", "version": "*", "files": []}, "language is required as a string"),
        ({"language": 3, "version": "*", "files": []}, "language is required as a string"),
        ({"language": "python"}, "version is required as a string"),
        ({"language": "python", "version": ""}, "version is required as a string"),
        ({"language": "python", "version": 3.11}, "version is required as a string"),
        ({"language": "python", "version": "*"}, "files is required as an array"),
        ({"language": "python", "version": "*", "files": "x"}, "files is required as an array"),
        (
            {"language": "python", "version": "*", "files": [HELLO, {"content": 1}]},
            "files[1].content is required as a string",
        ),
        (
            {"language": "python", "version": "*", "files": [None]},
            "files[0].content is required as a string",
        ),
        # The runtime is resolved before the files' encodings and the limits are looked at.
        ({"language": "cobol", "version": "*", "files": []}, "cobol-* runtime is unknown"),
        ({"language": "python", "version": "2", "files": []}, "python-2 runtime is unknown"),
        ({"language": "Python", "version": "*", "files": []}, "Python-* runtime is unknown"),
        ({"language": "py", "version": "latest", "files": []}, "py-latest runtime is unknown"),
        (
            {"language": "py", "version": "*", "files": []},
            "files must include at least one utf8 encoded file",
        ),
        (
            {"language": "py", "version": "*", "files": [{"content": "", "encoding": "base64"}]},
            "files must include at least one utf8 encoded file",
        ),
        (  # an unknown encoding is utf8 for the job, but not for this check (v2.js)
            {"language": "py", "version": "*", "files": [{"content": "", "encoding": "latin1"}]},
            "files must include at least one utf8 encoded file",
        ),
    ],
)
def test_pistons_checks_and_messages(body: Any, message: str) -> None:
    error = refused(body)
    assert isinstance(error, InvalidRequest)
    assert (error.message, error.http_status) == (message, 400)


def test_a_language_of_ours_that_no_live_worker_serves_is_a_503_not_unknown() -> None:
    error = refused({"language": "rs", "version": "*", "files": [HELLO]}, runtimes=RUNTIMES[:4])
    assert isinstance(error, piston.NoWorker)
    assert error.http_status == 503 and error.retry_after_s
    assert error.message == "no worker serves rs right now; try again shortly"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"run_timeout": "100"}, "If specified, run_timeout must be a number"),
        ({"run_timeout": True}, "If specified, run_timeout must be a number"),
        ({"run_cpu_time": []}, "If specified, run_cpu_time must be a number"),  # [] is truthy
        ({"compile_memory_limit": {}}, "If specified, compile_memory_limit must be a number"),
        ({"run_timeout": 10001}, "run_timeout cannot exceed the configured limit of 10000"),
        (
            {"compile_timeout": 30000.5},
            "compile_timeout cannot exceed the configured limit of 30000",
        ),
        ({"run_cpu_time": 99999}, "run_cpu_time cannot exceed the configured limit of 10000"),
        (
            {"compile_cpu_time": 30001},
            "compile_cpu_time cannot exceed the configured limit of 30000",
        ),
        (
            {"run_memory_limit": 256 * 2**20 + 1},
            "run_memory_limit cannot exceed the configured limit of 268435456",
        ),
        (
            {"compile_memory_limit": 2**31},
            "compile_memory_limit cannot exceed the configured limit of 1073741824",
        ),
        ({"run_timeout": -1}, "run_timeout must be non-negative"),
        ({"compile_cpu_time": -5}, "compile_cpu_time must be non-negative"),
        ({"run_memory_limit": 1_000_000}, "run_memory_limit must be at least 16777216"),
        # upstream's loop: memory_limit before timeout before cpu_time, compile before run
        (
            {"run_timeout": "x", "run_memory_limit": "x", "compile_cpu_time": "x"},
            "If specified, run_memory_limit must be a number",
        ),
        (
            {"run_timeout": 10**9, "compile_timeout": -3},
            "compile_timeout must be non-negative",
        ),
    ],
)
def test_limit_rules(limits: dict[str, Any], message: str) -> None:
    error = refused({"language": "c", "version": "*", "files": [HELLO], **limits})
    assert error.message == message and error.http_status == 400


def test_a_configured_limit_is_printed_as_javascript_prints_it() -> None:
    caps = piston.Caps.of(SETTINGS.model_copy(update={"execution_timeout": 2.5}))
    assert caps.run_timeout == 2500
    body = {"language": "py", "version": "*", "files": [HELLO], "run_timeout": 2501}
    with pytest.raises(
        InvalidRequest, match=r"^run_timeout cannot exceed the configured limit of 2500$"
    ):
        piston.job(body, RUNTIMES, caps)
    assert piston.js_number(0.25) == "0.25"


@pytest.mark.parametrize("value", [None, 0, False, ""])
def test_a_falsy_limit_is_the_servers_default(value: Any) -> None:
    fields = {name: value for name in piston.LIMIT_FIELDS}
    request = job(**fields).request
    assert request.limits is None and request.compile_limits is None


def test_a_negative_memory_limit_is_the_servers_default_as_piston_client_sends_it() -> None:
    request = job(compile_memory_limit=-1, run_memory_limit=-1).request
    assert request.limits is None and request.compile_limits is None


def test_limits_in_ms_and_bytes_become_seconds_and_whole_mb_rounded_up() -> None:
    request = piston.job(
        {
            "language": "c++",
            "version": "*",
            "files": [HELLO],
            "run_timeout": 1500,
            "run_cpu_time": 250,
            "run_memory_limit": 64 * 2**20 + 1,
            "compile_timeout": 20000,
            "compile_memory_limit": 512 * 2**20,
        },
        RUNTIMES,
        CAPS,
    ).request
    assert request.limits == RequestLimits(time_s=1.5, cpu_s=0.25, memory_mb=65)
    assert request.compile_limits == RequestLimits(time_s=20.0, memory_mb=512)


def test_an_interpreted_languages_compile_limits_are_checked_but_not_its_minimum() -> None:
    assert job(compile_memory_limit=1000).request.compile_limits is None
    assert refused({**job_body(), "compile_timeout": 40000}).message == (
        "compile_timeout cannot exceed the configured limit of 30000"
    )


def job_body(**fields: Any) -> dict[str, Any]:
    return {"language": "python", "version": "*", "files": [HELLO], **fields}


# -- the request: what the job gets ------------------------------------------------------------


def test_the_translation_of_a_plain_request() -> None:
    translated = job()
    assert translated.runtime.language == "python"
    assert translated.request.model_dump(exclude_defaults=True) == {
        "language": "python",
        "files": [{"name": "file0.code", "content": "print('hi')"}],
        "filename": "file0.code",
        "stdin": "\n",  # "" gets its newline too
        "stage_events": True,
    }


@pytest.mark.parametrize(
    ("stdin", "given"),
    [(None, "\n"), ("", "\n"), ("abc", "abc\n"), ("abc\n", "abc\n"), ("a\n\n", "a\n\n")],
)
def test_stdin_gets_a_trailing_newline_if_it_has_none(stdin: str | None, given: str) -> None:
    assert job(stdin=stdin).request.stdin == given


def test_the_websockets_init_takes_no_stdin() -> None:
    body = job_body(stdin="ignored")
    assert piston.job(body, RUNTIMES, CAPS, interactive=True).request.stdin is None


@pytest.mark.parametrize(
    ("args", "given"),
    [
        (None, []),
        ([], []),
        (["1", "2", "3"], ["1", "2", "3"]),  # piston-client's default
        ([1, 2.5, "x"], ["1", "2.5", "x"]),
        ("ab", ["a", "b"]),  # spread into characters, as upstream's [...args]
    ],
)
def test_args(args: Any, given: list[str]) -> None:
    assert job(args=args).request.args == given


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"args": 5}, "args must be an array of strings"),
        ({"args": [None]}, "args must be an array of strings"),
        ({"args": [True]}, "args must be an array of strings"),
        ({"stdin": 5}, "stdin must be a string"),
        ({"files": [{"content": "", "name": 7}]}, "files[0].name must be a string"),
        (
            {"files": [{"content": "", "name": "src/main.py"}]},
            "files[0].name 'src/main.py': sub-directories are not supported here",
        ),
    ],
)
def test_our_own_refusals_in_pistons_shape(fields: dict[str, Any], message: str) -> None:
    assert refused(job_body(**fields)).message == message


def names(language: str, files: list[dict[str, Any]]) -> tuple[str, list[str]]:
    request = piston.job({"language": language, "version": "*", "files": files}, RUNTIMES, CAPS)
    return request.request.filename or "", [f.name for f in request.request.files or []]


def test_file_names_default_and_take_the_compiled_languages_suffix() -> None:
    two = [{"content": "a"}, {"content": "b", "name": ""}]
    assert names("python", two) == ("file0.code", ["file0.code", "file1.code"])
    assert names("js", two) == ("file0.code", ["file0.code", "file1.code"])
    assert names("c", two) == ("file0.code.c", ["file0.code.c", "file1.code.c"])
    assert names("cpp", two) == ("file0.code.cpp", ["file0.code.cpp", "file1.code.cpp"])
    assert names("rs", two) == ("file0.rs", ["file0.rs", "file1.rs"])
    kept = [{"content": "a", "name": "main.c"}, {"content": "b", "name": "util.h"}]
    assert names("c", kept) == ("main.c", ["main.c", "util.h"])
    assert names("c", [{"content": "a", "name": "./prog"}]) == ("prog.c", ["prog.c"])


def test_the_entry_file_is_the_first_utf8_file_and_data_files_keep_their_names() -> None:
    files = [
        {"content": "AAEC", "encoding": "base64", "name": "data.bin"},
        {"content": "x = 1", "encoding": "nonsense", "name": "main.py"},  # treated as utf8
        {"content": "y = 2", "name": "other.py"},
    ]
    assert names("python", files) == ("main.py", ["data.bin", "main.py", "other.py"])
    assert names("c", [{"content": "00ff", "encoding": "hex"}, {"content": "int main;"}]) == (
        "file1.code.c",
        ["file0.code", "file1.code.c"],
    )


@pytest.mark.parametrize(
    ("encoding", "content", "data"),
    [
        ("hex", "00ff10", b"\x00\xff\x10"),
        ("hex", "00FFz1", b"\x00\xff"),  # whole pairs up to the first that is not hex
        ("hex", "abc", b"\xab"),
        ("base64", "AP8Q", b"\x00\xff\x10"),
        ("base64", "AP8", b"\x00\xff"),  # padding may be missing
        ("base64", "AP 8Q\n", b"\x00\xff\x10"),  # whitespace is skipped
        ("base64", "_-8Q", b"\xff\xef\x10"),  # the URL-safe alphabet
        ("base64", "AP8=Q", b"\x00\xff"),  # decoding stops at "="
    ],
)
def test_hex_and_base64_as_node_decodes_them_become_our_base64(
    encoding: str, content: str, data: bytes
) -> None:
    request = job(files=[HELLO, {"content": content, "encoding": encoding, "name": "d.bin"}])
    data_file = (request.request.files or [])[1]
    assert data_file.encoding == "base64"
    assert base64.b64decode(data_file.content, validate=True) == data


def test_a_translated_request_is_one_our_plan_accepts() -> None:
    """Through lib.jobs.build_spec, as the door's admission does."""
    for language in ("python", "js", "c", "c++", "rust"):
        request = piston.job(job_body(language=language, run_timeout=500), RUNTIMES, CAPS).request
        spec = build_spec(request, SETTINGS)
        assert spec.limits.time_s == 0.5 and spec.stage_events


def test_our_filename_rules_still_apply_after_translation() -> None:
    request = job(files=[HELLO, {"content": "b", "name": "file0.code"}]).request
    with pytest.raises(InvalidRequest, match="two files have the same name"):
        build_spec(request, SETTINGS)


# -- bodies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "", "text/plain;charset=UTF-8", "application/json"])
def test_a_json_body_is_read_whatever_its_content_type(content_type: str | None) -> None:
    assert piston.parse_body(b'{"a": 1}', content_type) == {"a": 1}


def test_a_body_that_is_not_json() -> None:
    with pytest.raises(MalformedMessage) as caught:
        piston.parse_body(b"{", "application/json")
    assert caught.value.http_status == 400
    with pytest.raises(piston.UnsupportedMediaType) as unsupported:
        piston.parse_body(b"a=1", "application/x-www-form-urlencoded")
    assert unsupported.value.http_status == 415
    assert unsupported.value.message == "requests must be of type application/json"


@pytest.mark.parametrize(
    ("x_api_key", "authorization", "key"),
    [
        ("k1", None, "k1"),
        (" k1 ", "Bearer k2", "k1"),
        ("", "Bearer k2", "k2"),
        (None, "bearer  k2 ", "k2"),
        (None, "k3", "k3"),  # the raw key, as the public Piston's clients send it
        (None, "Bearer", "Bearer"),
        (None, "", None),
        (None, None, None),
    ],
)
def test_the_presented_key(
    x_api_key: str | None, authorization: str | None, key: str | None
) -> None:
    assert piston.presented_key(x_api_key, authorization) == key


# -- the response --------------------------------------------------------------------------------


def end(stage: str, status: Status, **fields: Any) -> StageEvent:
    values: dict[str, Any] = {"execution_time": 0.25, "cpu_time": 0.125, "memory_kb": 1000}
    return StageEvent(stage=stage, event="end", status=status, **(values | fields))  # type: ignore[arg-type]


def start(stage: str) -> StageEvent:
    return StageEvent(stage=stage, event="start")  # type: ignore[arg-type]


def out(stream: str, data: str) -> Output:
    return Output(stream=Stream(stream), data=data)


def transcript(*events: Any) -> piston.Transcript:
    t = piston.Transcript()
    for event in events:
        t.add(event)
    return t


def result(status: Status, *stages: StageEvent, **fields: Any) -> JobResult:
    return JobResult(job_id="0" * 32, status=status.value, stages=list(stages), **fields)


def rt(language: str) -> piston.Runtime:
    found = piston.find_runtime(RUNTIMES, language, "*")
    assert found is not None
    return found


def stage(**fields: Any) -> dict[str, Any]:
    base = {"stdout": "", "stderr": "", "output": "", "code": 0, "signal": None}
    more = {"message": None, "status": None, "cpu_time": 125, "wall_time": 250, "memory": 1024000}
    return base | more | fields


def test_an_interpreted_languages_response_has_run_only_and_output_in_order() -> None:
    events = transcript(start("run"), out("stdout", "a"), out("stderr", "b"), out("stdout", "c"))
    done = result(Status.OK, end("run", Status.OK, exit_code=0))
    assert piston.execute_response(rt("python"), done, events) == {
        "run": stage(stdout="ac", stderr="b", output="abc"),
        "language": "python",
        "version": "3.11.2",
    }


def test_a_compiled_languages_response_has_compile_then_run_then_language_and_version() -> None:
    events = transcript(
        start("compile"), out("compile", "warning: x\n"), start("run"), out("stdout", "hi\n")
    )
    done = result(
        Status.RUNTIME_ERROR,
        end("compile", Status.OK, exit_code=0),
        end("run", Status.RUNTIME_ERROR, exit_code=3),
    )
    body = piston.execute_response(rt("c"), done, events)
    assert list(body) == ["compile", "run", "language", "version"]
    # Our compiler output is one merged stream; Piston's compilers write their errors to stderr.
    assert body["compile"] == stage(stderr="warning: x\n", output="warning: x\n")
    assert body["run"] == stage(
        stdout="hi\n", output="hi\n", code=3, status="RE", message="Exited with error status 3"
    )
    assert (body["language"], body["version"]) == ("c", "12.2.0")


def test_a_failed_compile_is_also_the_run() -> None:
    events = transcript(start("compile"), out("compile", "error: y\n"))
    done = result(
        Status.COMPILE_ERROR,
        end("compile", Status.COMPILE_ERROR, exit_code=1, message="compilation failed"),
    )
    body = piston.execute_response(rt("c++"), done, events)
    failed = stage(
        stderr="error: y\n",
        output="error: y\n",
        code=1,
        status="RE",
        message="Exited with error status 1",
    )
    assert body == {"compile": failed, "run": failed, "language": "c++", "version": "12.2.0"}


@pytest.mark.parametrize(
    ("status", "fields", "said"),
    [
        (Status.OK, {"exit_code": 0}, (0, None, None, None)),
        (Status.RUNTIME_ERROR, {"exit_code": 2}, (2, None, "RE", "Exited with error status 2")),
        (
            Status.RUNTIME_ERROR,
            {"signal": "SIGSEGV"},
            (None, "SIGSEGV", "SG", "Caught fatal signal 11"),
        ),
        (
            Status.TIMEOUT,
            {"message": "the program ran past its time limit", "signal": "SIGTERM"},
            (None, "SIGKILL", "TO", "Time limit exceeded (wall clock)"),
        ),
        (
            Status.TIMEOUT,
            {"message": "the program used up its CPU time limit", "signal": "SIGXCPU"},
            (None, "SIGKILL", "TO", "Time limit exceeded"),
        ),
        (Status.MEMORY_LIMIT, {}, (None, "SIGKILL", "SG", "Memory limit exceeded")),
        (
            Status.KILLED,
            {"message": "stopped by the client"},
            (None, "SIGKILL", "SG", "stopped by the client"),
        ),
        (
            Status.INTERNAL_ERROR,
            {"message": "the sandbox failed to run the job"},
            (None, None, "XX", "the sandbox failed to run the job"),
        ),
        (
            Status.COMPILE_ERROR,
            {"message": "compilation took longer than 30 s"},
            (None, "SIGKILL", "TO", "Time limit exceeded (wall clock)"),
        ),
        (
            Status.COMPILE_ERROR,
            {"message": "the compiler wrote more than the output limit"},
            (None, "SIGKILL", "OL", "stdout length exceeded"),
        ),
        (
            Status.COMPILE_ERROR,
            {"message": "the compiler ran out of memory"},
            (None, "SIGKILL", "SG", "Memory limit exceeded"),
        ),
        (
            Status.COMPILE_ERROR,
            {"message": "compilation failed", "signal": "SIGABRT"},
            (None, "SIGABRT", "SG", "Caught fatal signal 6"),
        ),
    ],
)
def test_stage_outcomes(status: Status, fields: dict[str, Any], said: tuple[Any, ...]) -> None:
    got = piston.outcome(
        status, fields.get("exit_code"), fields.get("signal"), fields.get("message")
    )
    assert (got.code, got.signal, got.status, got.message) == said


def test_an_output_limit_is_ol_or_el_by_the_stream_that_was_cut() -> None:
    for stream, status in (("stdout", "OL"), ("stderr", "EL")):
        events = transcript(start("run"), out("stdout", "x"), out(stream, "y" * 10))
        done = result(Status.OUTPUT_LIMIT, end("run", Status.OUTPUT_LIMIT))
        run = piston.execute_response(rt("js"), done, events)["run"]
        assert (run["status"], run["signal"], run["code"]) == (status, "SIGKILL", None)
        assert run["message"] == f"{stream} length exceeded"


def test_a_job_that_ended_before_its_stage_did_is_told_from_its_result() -> None:
    done = result(Status.INTERNAL_ERROR, message="the service's storage failed while the job ran")
    body = piston.execute_response(rt("rust"), done, piston.Transcript())
    expected = stage(
        code=None,
        status="XX",
        message="the service's storage failed while the job ran",
        cpu_time=0,
        wall_time=0,
        memory=0,
    )
    assert body == {"compile": expected, "run": expected, "language": "rust", "version": "1.96.0"}


def test_without_a_transcript_the_results_own_outputs_are_used() -> None:
    done = result(
        Status.OK,
        end("run", Status.OK, exit_code=0),
        stdout="o",
        stderr="e",
    )
    assert piston.execute_response(rt("py"), done)["run"] == stage(
        stdout="o", stderr="e", output="oe"
    )


def test_times_are_ms_and_memory_is_bytes() -> None:
    done = result(
        Status.OK, end("run", Status.OK, execution_time=1.2345, cpu_time=0.0004, memory_kb=7)
    )
    run = piston.execute_response(rt("py"), done, transcript())["run"]
    assert (run["wall_time"], run["cpu_time"], run["memory"]) == (1234, 0, 7168)


# -- the WebSocket ---------------------------------------------------------------------------------


def test_events_as_pistons_websocket_messages() -> None:
    assert piston.ws_messages(start("compile")) == [{"type": "stage", "stage": "compile"}]
    assert piston.ws_messages(out("stdout", "é")) == [
        {"type": "data", "stream": "stdout", "data": "é"}
    ]
    assert piston.ws_messages(out("compile", "err")) == [
        {"type": "data", "stream": "stderr", "data": "err"}
    ]
    assert piston.ws_messages(end("compile", Status.COMPILE_ERROR, exit_code=1)) == [
        {"type": "exit", "stage": "compile", "code": 1, "signal": None}
    ]
    assert piston.ws_messages(end("run", Status.TIMEOUT, message="x")) == [
        {"type": "exit", "stage": "run", "code": None, "signal": "SIGKILL"}
    ]
    final = Complete(exit_code=0, execution_time=0.1, status=Status.OK)
    assert piston.ws_messages(final) == []


def test_the_signal_names_upstream_accepts() -> None:
    assert len(piston.PISTON_SIGNALS) == 62  # 1-31 and 34-64 (globals.js)
    assert {"SIGINT", "SIGKILL", "SIGSTKFLT", "SIGRTMIN+15", "SIGRTMAX-14", "SIGRTMAX"} <= (
        piston.PISTON_SIGNALS
    )
    assert not {"SIGIOT", "SIGCLD", "SIGPOLL", "SIGRTMIN+16", "INT", "sigint"} & (
        piston.PISTON_SIGNALS
    )


def test_caps_come_from_the_settings_in_pistons_units() -> None:
    expected = piston.Caps(
        compile_timeout=30000,
        run_timeout=10000,
        compile_cpu_time=30000,
        run_cpu_time=10000,
        compile_memory_limit=1024 * 2**20,
        run_memory_limit=256 * 2**20,
    )
    assert expected == CAPS


def test_source_file_model_is_ours() -> None:
    assert job().request.files == [SourceFile(name="file0.code", content="print('hi')")]


# -- the worker's words this module reads ----------------------------------------------------------


def stopped(stop: Stop | None = None, oom_kills: int = 0) -> StageResult:
    return StageResult(stop, True, None, None, 1.0, 0.5, 1000, oom_kills)


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (stopped(Stop.TIMEOUT), "TO"),
        (stopped(Stop.OUTPUT), "OL"),
        (stopped(oom_kills=1), "SG"),
        (stopped(), "RE"),  # no reaper: "compilation failed"
    ],
)
def test_a_failed_compiles_reason_is_told_from_the_workers_own_message(
    result: StageResult, status: str
) -> None:
    """The compile stage ends `compile_error` whatever stopped it; its message tells a limit from
    a refusal. If services/worker/verdict.py changes its words, this fails first."""
    failure = verdict.compile_failure(result, 30.0)
    assert failure is not None and failure[0] is Status.COMPILE_ERROR
    assert piston.outcome(failure[0], 1, None, failure[1]).status == status


def test_a_cpu_timeout_is_told_from_a_wall_clock_one_by_the_workers_message() -> None:
    wall = verdict.run_status(stopped(Stop.TIMEOUT))
    xcpu = StageResult(None, True, ReaperStatus(None, 24, 1.0, 1.0, 1000), 0, 1.0, 1.0, 1000, 0)
    cpu = verdict.run_status(xcpu)
    assert wall[0] is cpu[0] is Status.TIMEOUT
    assert (
        piston.outcome(wall[0], None, None, wall[1]).message == "Time limit exceeded (wall clock)"
    )
    assert piston.outcome(cpu[0], None, "SIGXCPU", cpu[1]).message == "Time limit exceeded"
