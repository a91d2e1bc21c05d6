"""lib.jobs.build_spec: every request rule, against explicit Settings (pure)."""

from __future__ import annotations

import json

import pytest

from lib.config import Settings
from lib.errors import InvalidRequest, MessageTooLarge, RequestError
from lib.jobs import MAX_ARG_BYTES, MIN_MEMORY_MB, JobSpec, Limits, build_spec, check_filename
from lib.protocol import CloseCode, ErrorCode, Execute, SourceFile, parse_client_message

JOB = "0123456789abcdef0123456789abcdef"


def make_settings(**overrides: object) -> Settings:
    # Every value the rules read is passed explicitly, so neither the environment nor a .env file
    # can change what these tests see (init arguments win over both).
    values: dict[str, object] = {
        "jwt_secret": "x" * 40,
        "api_keys": "k",
        "execution_timeout": 7.5,
        "max_memory_mb": 300,
        "max_output_kb": 2048,
        "max_files": 4,
        "max_file_kb": 2,
        "max_code_kb": 5,
        "max_args": 3,
        "max_input_kb": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


SETTINGS = make_settings()


def execute(**fields: object) -> Execute:
    msg: dict[str, object] = {
        "type": "execute",
        "job_id": JOB,
        "job_token": "t",
        "language": "python",
    }
    if "files" not in fields:
        msg["code"] = "print(1)"
    msg.update(fields)
    return Execute.model_validate(msg)


def raw_execute(tail: str) -> Execute:
    """Parse a hand-written execute frame, for JSON that json.dumps would not produce."""
    head = '{"type": "execute", "job_id": "' + JOB + '", "job_token": "t", '
    msg = parse_client_message(head + tail + "}")
    assert isinstance(msg, Execute)
    return msg


def files(*names: str, content: str = "") -> list[dict[str, str]]:
    return [{"name": n, "content": content} for n in names]


def refused(
    msg: Execute, code: ErrorCode, settings: Settings = SETTINGS, cls: type = InvalidRequest
) -> RequestError:
    with pytest.raises(cls) as info:
        build_spec(msg, settings)
    assert info.value.code == code
    return info.value


# --- the spec -----------------------------------------------------------------------------------


def test_spec_from_code_only() -> None:
    spec = build_spec(execute(code="print(2)", args=["a", "b"]), SETTINGS)
    assert isinstance(spec, JobSpec)
    assert spec.job_id == JOB
    assert spec.language == "python"
    assert spec.main == "main.py"
    assert spec.files == [SourceFile(name="main.py", content="print(2)")]
    assert spec.args == ["a", "b"]
    assert spec.enqueued_at > 0


def test_spec_json_round_trip() -> None:
    spec = build_spec(execute(files=files("a.py", "b.py"), filename="b.py"), SETTINGS)
    again = JobSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert json.loads(spec.model_dump_json())["limits"] == {
        "time_s": 7.5,
        "memory_mb": 300,
        "output_kb": 2048,
        "cpu_s": None,
        "processes": None,
        "file_size_mb": None,
        "stack_kb": None,
    }


# --- limits -------------------------------------------------------------------------------------


def test_default_limits_are_the_caps() -> None:
    spec = build_spec(execute(), SETTINGS)
    assert spec.limits == Limits(time_s=7.5, memory_mb=300, output_kb=2048)


def test_default_limits_follow_other_caps() -> None:
    settings = make_settings(execution_timeout=2.0, max_memory_mb=64, max_output_kb=8)
    spec = build_spec(execute(), settings)
    assert spec.limits == Limits(time_s=2.0, memory_mb=64, output_kb=8)


def test_partial_limits_take_defaults_for_the_rest() -> None:
    spec = build_spec(execute(limits={"memory_mb": 100}), SETTINGS)
    assert spec.limits == Limits(time_s=7.5, memory_mb=100, output_kb=2048)


def test_limits_below_the_caps_are_kept() -> None:
    spec = build_spec(execute(limits={"time_s": 0.5, "memory_mb": 32, "output_kb": 1}), SETTINGS)
    assert spec.limits == Limits(time_s=0.5, memory_mb=32, output_kb=1)


def test_limits_at_the_caps_are_accepted() -> None:
    spec = build_spec(
        execute(limits={"time_s": 7.5, "memory_mb": 300, "output_kb": 2048}), SETTINGS
    )
    assert spec.limits == Limits(time_s=7.5, memory_mb=300, output_kb=2048)


@pytest.mark.parametrize(
    ("limits", "name"),
    [
        ({"time_s": 7.51}, "time_s"),
        ({"time_s": 1e9}, "time_s"),
        ({"memory_mb": 301}, "memory_mb"),
        ({"output_kb": 2049}, "output_kb"),
        ({"time_s": 1, "memory_mb": 20, "output_kb": 10_000}, "output_kb"),
    ],
)
def test_limit_above_the_cap_is_refused(limits: dict[str, float], name: str) -> None:
    exc = refused(execute(limits=limits), ErrorCode.LIMIT_EXCEEDED)
    assert exc.close_code == CloseCode.INVALID_PAYLOAD
    assert f"limits.{name}" in exc.message


def test_infinite_time_limit_is_refused() -> None:
    msg = raw_execute('"language": "py", "code": "x", "limits": {"time_s": Infinity}')
    refused(msg, ErrorCode.LIMIT_EXCEEDED)


@pytest.mark.parametrize("memory", [1, 8, MIN_MEMORY_MB - 1])
def test_memory_below_the_minimum_is_refused(memory: int) -> None:
    assert MIN_MEMORY_MB == 16
    exc = refused(execute(limits={"memory_mb": memory}), ErrorCode.LIMIT_EXCEEDED)
    assert "16" in exc.message


def test_memory_at_the_minimum_is_accepted() -> None:
    assert build_spec(execute(limits={"memory_mb": 16}), SETTINGS).limits.memory_mb == 16


def test_limit_types_in_the_spec() -> None:
    limits = build_spec(execute(limits={"time_s": 2}), SETTINGS).limits
    assert isinstance(limits.time_s, float)
    assert isinstance(limits.memory_mb, int)
    assert isinstance(limits.output_kb, int)


# --- file names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a", "a.py", "A_b-1.py", "_x.py", "9.py", "x.tar.gz", "a-", "a.", "Main", "main.py", "x" * 64],
)
def test_valid_file_names(name: str) -> None:
    assert check_filename(name) == name
    spec = build_spec(execute(files=files(name)), SETTINGS)
    assert spec.main == name
    assert [f.name for f in spec.files] == [name]


BAD_NAMES = [
    "",
    ".",
    "..",
    "a..b",
    "../etc",
    "a/b",
    "/abs",
    "./a",
    ".hidden",
    "-rf",
    "--help",
    "x" * 65,
    "main",
    "a b",
    "a\tb",
    "a\x00b",
    "a\n",
    "\na",
    "a\\b",
    "*.py",
    "@opts",
    "a:b",
    "$(x)",
    "\u00e9.py",
    "\u0661.py",
    "a\u200b.py",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_invalid_file_name_in_files(name: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_filename(name)
    assert info.value.code == ErrorCode.INVALID_FILENAME
    other = files("ok.py") + files(name)
    refused(execute(files=other), ErrorCode.INVALID_FILENAME)


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if n])
def test_invalid_filename_with_code(name: str) -> None:
    refused(execute(code="x", filename=name), ErrorCode.INVALID_FILENAME)


def test_64_char_name_accepted_65_refused() -> None:
    assert check_filename("a" * 64)
    with pytest.raises(InvalidRequest):
        check_filename("a" * 65)


def test_main_is_reserved_for_the_binary() -> None:
    refused(execute(files=files("main")), ErrorCode.INVALID_FILENAME)
    refused(execute(code="x", filename="main"), ErrorCode.INVALID_FILENAME)
    refused(execute(language="c", files=files("x.c", "main")), ErrorCode.INVALID_FILENAME)


def test_duplicate_names_in_files_are_refused() -> None:
    refused(execute(files=files("a.py", "b.py", "a.py")), ErrorCode.INVALID_FILENAME)


def test_code_name_clashing_with_a_file_is_refused() -> None:
    refused(execute(code="x", files=files("main.py")), ErrorCode.INVALID_FILENAME)
    refused(execute(code="x", filename="a.py", files=files("a.py")), ErrorCode.INVALID_FILENAME)


def test_long_bad_name_is_truncated_in_the_message() -> None:
    exc = refused(execute(files=files("-" + "y" * 500)), ErrorCode.INVALID_FILENAME)
    assert "y" * 100 not in exc.message


# --- code and files together --------------------------------------------------------------------


def test_code_plus_files_puts_code_first_as_the_entry() -> None:
    spec = build_spec(execute(code="import lib", files=files("lib.py", content="X=1")), SETTINGS)
    assert spec.main == "main.py"
    assert spec.files == [
        SourceFile(name="main.py", content="import lib"),
        SourceFile(name="lib.py", content="X=1"),
    ]


def test_code_with_filename_names_the_code_file() -> None:
    spec = build_spec(execute(code="x", filename="app.py", files=files("lib.py")), SETTINGS)
    assert spec.main == "app.py"
    assert [f.name for f in spec.files] == ["app.py", "lib.py"]


def test_empty_filename_with_code_falls_back_to_the_default() -> None:
    spec = build_spec(execute(code="x", filename=""), SETTINGS)
    assert spec.main == "main.py"


def test_files_only_entry_is_the_first_file() -> None:
    spec = build_spec(execute(files=files("first.py", "second.py")), SETTINGS)
    assert spec.main == "first.py"


def test_files_only_filename_selects_the_entry() -> None:
    spec = build_spec(execute(files=files("first.py", "second.py"), filename="second.py"), SETTINGS)
    assert spec.main == "second.py"
    assert [f.name for f in spec.files] == ["first.py", "second.py"]


def test_filename_not_among_files_is_refused() -> None:
    exc = refused(execute(files=files("a.py", "b.py"), filename="c.py"), ErrorCode.INVALID_REQUEST)
    assert "c.py" in exc.message


def test_neither_code_nor_files_is_refused() -> None:
    refused(execute(code=None), ErrorCode.INVALID_REQUEST)
    refused(execute(files=[]), ErrorCode.INVALID_REQUEST)


def test_empty_code_string_is_a_program() -> None:
    spec = build_spec(execute(code=""), SETTINGS)
    assert spec.files == [SourceFile(name="main.py", content="")]


# --- compiled languages: entry suffix -----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "name"),
    [
        ("c", "prog.c"),
        ("cpp", "prog.cpp"),
        ("cpp", "prog.cc"),
        ("cpp", "prog.cxx"),
        ("rust", "prog.rs"),
    ],
)
def test_compiled_entry_with_a_source_suffix_is_accepted(language: str, name: str) -> None:
    spec = build_spec(execute(language=language, code="x", filename=name), SETTINGS)
    assert spec.main == name


@pytest.mark.parametrize(
    ("language", "name"),
    [
        ("c", "prog.py"),
        ("c", "prog"),
        ("c", "prog.C"),
        ("c", "prog.h"),
        ("c", "prog.c.txt"),
        ("cpp", "prog.c"),
        ("cpp", "prog.hpp"),
        ("rust", "prog.rs.bak"),
        ("rust", "prog.c"),
    ],
)
def test_compiled_entry_without_a_source_suffix_is_refused(language: str, name: str) -> None:
    exc = refused(execute(language=language, code="x", filename=name), ErrorCode.INVALID_FILENAME)
    assert exc.close_code == CloseCode.INVALID_PAYLOAD


def test_compiled_entry_suffix_checked_for_files_only_requests() -> None:
    refused(execute(language="c", files=files("util.h", "prog.c")), ErrorCode.INVALID_FILENAME)
    spec = build_spec(
        execute(language="c", files=files("util.h", "prog.c"), filename="prog.c"), SETTINGS
    )
    assert spec.main == "prog.c"
    assert [f.name for f in spec.files] == ["util.h", "prog.c"]


def test_compiled_default_file_names() -> None:
    assert build_spec(execute(language="c"), SETTINGS).main == "main.c"
    assert build_spec(execute(language="cpp"), SETTINGS).main == "main.cpp"
    assert build_spec(execute(language="rust"), SETTINGS).main == "main.rs"
    assert build_spec(execute(language="javascript"), SETTINGS).main == "main.js"


# --- sizes --------------------------------------------------------------------------------------


def test_file_at_the_size_limit_is_accepted() -> None:
    build_spec(execute(code="a" * 2048), SETTINGS)


def test_code_over_the_file_limit_is_refused() -> None:
    exc = refused(execute(code="a" * 2049), ErrorCode.CODE_TOO_LARGE, cls=MessageTooLarge)
    assert exc.close_code == CloseCode.MESSAGE_TOO_BIG


def test_file_size_is_counted_in_utf8_bytes() -> None:
    # 1025 two-byte characters: 2050 bytes, over the 2 KB file limit though only 1025 characters.
    refused(execute(code="\u00e9" * 1025), ErrorCode.CODE_TOO_LARGE, cls=MessageTooLarge)
    build_spec(execute(code="\u00e9" * 1024), SETTINGS)


def test_one_large_file_among_many_is_refused() -> None:
    many = [*files("a.py", "b.py"), {"name": "c.py", "content": "z" * 2049}]
    refused(execute(files=many), ErrorCode.CODE_TOO_LARGE, cls=MessageTooLarge)


def test_total_size_over_the_limit_is_refused() -> None:
    # 3 files of 2 KB each = 6 KB > 5 KB total, though each file is within its own limit.
    exc = refused(
        execute(files=files("a.py", "b.py", "c.py", content="q" * 2048)),
        ErrorCode.CODE_TOO_LARGE,
        cls=MessageTooLarge,
    )
    assert "total" in exc.message


def test_total_size_at_the_limit_is_accepted() -> None:
    parts = [
        {"name": "a.py", "content": "q" * 2048},
        {"name": "b.py", "content": "q" * 2048},
        {"name": "c.py", "content": "q" * 1024},
    ]
    build_spec(execute(files=parts), SETTINGS)
    parts[2]["content"] += "q"
    refused(execute(files=parts), ErrorCode.CODE_TOO_LARGE, cls=MessageTooLarge)


def test_code_counts_toward_the_total() -> None:
    refused(
        execute(code="q" * 2048, files=files("a.py", "b.py", content="q" * 2048)),
        ErrorCode.CODE_TOO_LARGE,
        cls=MessageTooLarge,
    )


def test_too_many_files_is_refused() -> None:
    build_spec(execute(files=files("a.py", "b.py", "c.py", "d.py")), SETTINGS)
    exc = refused(
        execute(files=files("a.py", "b.py", "c.py", "d.py", "e.py")),
        ErrorCode.CODE_TOO_LARGE,
        cls=MessageTooLarge,
    )
    assert exc.close_code == 1009


def test_code_counts_as_a_file() -> None:
    refused(
        execute(code="x", files=files("a.py", "b.py", "c.py", "d.py")),
        ErrorCode.CODE_TOO_LARGE,
        cls=MessageTooLarge,
    )


# --- args ---------------------------------------------------------------------------------------


def test_args_up_to_the_count_limit_are_accepted() -> None:
    spec = build_spec(execute(args=["1", "--two", ""]), SETTINGS)
    assert spec.args == ["1", "--two", ""]


def test_too_many_args_are_refused() -> None:
    refused(execute(args=["1", "2", "3", "4"]), ErrorCode.LIMIT_EXCEEDED)


def test_no_args_allowed_when_max_args_is_zero() -> None:
    settings = make_settings(max_args=0)
    build_spec(execute(), settings)
    refused(execute(args=["x"]), ErrorCode.LIMIT_EXCEEDED, settings=settings)


@pytest.mark.parametrize("arg", ["\x00", "a\x00b", "ends\x00"])
def test_arg_with_a_nul_byte_is_refused(arg: str) -> None:
    refused(execute(args=["ok", arg]), ErrorCode.INVALID_REQUEST)


def test_arg_length_is_limited_in_bytes() -> None:
    assert MAX_ARG_BYTES == 4096
    build_spec(execute(args=["a" * 4096]), SETTINGS)
    refused(execute(args=["a" * 4097]), ErrorCode.INVALID_REQUEST)
    refused(execute(args=["\u00e9" * 2049]), ErrorCode.INVALID_REQUEST)


def test_arg_with_a_lone_surrogate_is_refused() -> None:
    refused(execute(args=["\ud800"]), ErrorCode.INVALID_REQUEST)


# --- stdin --------------------------------------------------------------------------------------


def test_stdin_up_to_the_limit_is_accepted() -> None:
    build_spec(execute(stdin="s" * 1024), SETTINGS)
    build_spec(execute(stdin=""), SETTINGS)


def test_stdin_over_the_limit_is_refused() -> None:
    refused(execute(stdin="s" * 1025), ErrorCode.INPUT_TOO_LARGE, cls=MessageTooLarge)
    refused(execute(stdin="\u00e9" * 513), ErrorCode.INPUT_TOO_LARGE, cls=MessageTooLarge)


def test_stdin_with_a_lone_surrogate_is_refused() -> None:
    refused(execute(stdin="\udc80"), ErrorCode.INVALID_REQUEST)


# --- lone surrogates ----------------------------------------------------------------------------


def test_lone_surrogate_in_code_is_refused() -> None:
    # JSON can carry "\ud800"; UTF-8 cannot. It must be a clear InvalidRequest, not a crash.
    msg = raw_execute('"language": "python", "code": "print(\\"\\ud800\\")"')
    exc = refused(msg, ErrorCode.INVALID_REQUEST)
    assert "surrogate" in exc.message


def test_lone_surrogate_in_a_second_file_is_refused() -> None:
    parts = [{"name": "a.py", "content": "ok"}, {"name": "b.py", "content": "x\udfffy"}]
    refused(execute(files=parts), ErrorCode.INVALID_REQUEST)


def test_valid_surrogate_pair_is_accepted() -> None:
    msg = raw_execute('"language": "python", "code": "\\ud83d\\ude00"')
    assert build_spec(msg, SETTINGS).files[0].content == "\U0001f600"


# --- languages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["cobol", "", " ", "pythonn", "c#", "java", "main"])
def test_unknown_language_is_refused(language: str) -> None:
    exc = refused(execute(language=language), ErrorCode.UNSUPPORTED_LANGUAGE)
    assert exc.close_code == CloseCode.INVALID_PAYLOAD


def test_unknown_language_checked_before_files() -> None:
    refused(execute(language="cobol", code=None), ErrorCode.UNSUPPORTED_LANGUAGE)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("js", "javascript"),
        ("node", "javascript"),
        ("nodejs", "javascript"),
        ("JavaScript", "javascript"),
        ("c++", "cpp"),
        ("cxx", "cpp"),
        ("C++", "cpp"),
        ("py", "python"),
        ("python3", "python"),
        (" Python ", "python"),
        ("rs", "rust"),
        ("C", "c"),
    ],
)
def test_language_aliases_resolve(alias: str, name: str) -> None:
    code_name = {"javascript": "m.js", "cpp": "m.cpp", "python": "m.py", "rust": "m.rs", "c": "m.c"}
    spec = build_spec(execute(language=alias, code="x", filename=code_name[name]), SETTINGS)
    assert spec.language == name
