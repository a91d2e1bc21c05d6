"""lib.languages: the table, resolve() and expand() (pure)."""

from __future__ import annotations

import pytest

from lib.errors import InvalidRequest
from lib.jobs import check_filename
from lib.languages import BINARY, LANGUAGES, expand, resolve
from lib.protocol import ErrorCode

PLACEHOLDERS = {"{tool}", "{main}", "{sources}", "{stdio}", "{options}"}


# --- resolve ------------------------------------------------------------------------------------


def test_the_five_languages() -> None:
    assert set(LANGUAGES) == {"python", "javascript", "c", "cpp", "rust"}


@pytest.mark.parametrize("name", sorted(LANGUAGES))
def test_every_name_and_alias_resolves_to_its_language(name: str) -> None:
    lang = LANGUAGES[name]
    assert lang.name == name
    for alias in (name, *lang.aliases):
        assert resolve(alias) is lang
        assert resolve(alias.upper()) is lang
        assert resolve(f"  {alias}\t") is lang


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("js", "javascript"),
        ("node", "javascript"),
        ("nodejs", "javascript"),
        ("c++", "cpp"),
        ("cxx", "cpp"),
        ("py", "python"),
        ("python3", "python"),
        ("rs", "rust"),
    ],
)
def test_aliases(alias: str, name: str) -> None:
    assert resolve(alias).name == name


def test_aliases_are_unique() -> None:
    seen: list[str] = []
    for lang in LANGUAGES.values():
        seen += [lang.name, *lang.aliases]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("name", ["", "cobol", "c--", "python2", "javascript!", "x" * 1000])
def test_unknown_language(name: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        resolve(name)
    assert info.value.code == ErrorCode.UNSUPPORTED_LANGUAGE
    assert "python" in info.value.message  # lists what is supported
    assert len(info.value.message) < 200  # the echoed name is truncated


# --- the table ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LANGUAGES))
def test_default_file_is_a_valid_source_name(name: str) -> None:
    lang = LANGUAGES[name]
    assert lang.default_file.endswith(lang.source_suffixes)
    assert check_filename(lang.default_file) == lang.default_file
    assert lang.default_file != BINARY


@pytest.mark.parametrize("name", sorted(LANGUAGES))
def test_placeholders_stand_alone_in_templates(name: str) -> None:
    lang = LANGUAGES[name]
    for template in (lang.compile or (), lang.run):
        for part in template:
            if "{" in part or "}" in part:
                assert part in PLACEHOLDERS, part


def test_compiled_flag() -> None:
    compiled = {name for name, lang in LANGUAGES.items() if lang.compiled}
    assert compiled == {"c", "cpp", "rust"}
    for name in compiled:
        assert LANGUAGES[name].run == ("./" + BINARY,)


def test_line_buffered_stdio_only_for_c_and_cpp() -> None:
    assert {n for n, lang in LANGUAGES.items() if lang.line_buffered_stdio} == {"c", "cpp"}


# --- expand -------------------------------------------------------------------------------------


def test_expand_python_run() -> None:
    argv = expand(LANGUAGES["python"].run, tool="/usr/bin/python3", main="app.py", sources=[])
    assert argv == ["/usr/bin/python3", "-u", "-B", "app.py"]


def test_expand_javascript_run() -> None:
    argv = expand(LANGUAGES["javascript"].run, tool="/usr/bin/node", main="a.mjs", sources=["x"])
    assert argv == ["/usr/bin/node", "a.mjs"]


def test_expand_keeps_a_tool_path_with_spaces_as_one_element() -> None:
    argv = expand(("{tool}", "{main}"), tool="/opt/my tools/gcc", main="m.c", sources=[])
    assert argv == ["/opt/my tools/gcc", "m.c"]


def test_expand_sources_in_place() -> None:
    argv = expand(("a", "{sources}", "b"), tool="t", main="m", sources=["x.c", "y.c", "z.c"])
    assert argv == ["a", "x.c", "y.c", "z.c", "b"]


def test_expand_empty_sources_leave_no_element() -> None:
    assert expand(("a", "{sources}", "b"), tool="t", main="m", sources=[]) == ["a", "b"]


def test_expand_stdio_omitted_when_none_or_empty() -> None:
    template = ("{tool}", "{stdio}", "-lm")
    assert expand(template, tool="t", main="m", sources=[]) == ["t", "-lm"]
    assert expand(template, tool="t", main="m", sources=[], stdio=None) == ["t", "-lm"]
    assert expand(template, tool="t", main="m", sources=[], stdio="") == ["t", "-lm"]
    assert expand(template, tool="t", main="m", sources=[], stdio="/s.o") == ["t", "/s.o", "-lm"]


def test_expand_does_not_substitute_inside_larger_strings() -> None:
    argv = expand(("{main}.o", "-I{tool}"), tool="t", main="m", sources=[])
    assert argv == ["{main}.o", "-I{tool}"]


def test_expand_does_not_change_the_sources_list() -> None:
    sources = ["a.c", "b.c"]
    expand(LANGUAGES["c"].compile or (), tool="gcc", main="a.c", sources=sources, stdio="s.o")
    assert sources == ["a.c", "b.c"]


def test_expand_c_compile_exact_order() -> None:
    lang = LANGUAGES["c"]
    assert lang.compile is not None
    argv = expand(
        lang.compile,
        tool="/usr/bin/gcc",
        main="prog.c",
        sources=["prog.c", "util.c"],
        stdio="/usr/local/lib/cexec/stdio.o",
    )
    assert argv == [
        "/usr/bin/gcc",
        "-std=c11",
        "-D_DEFAULT_SOURCE",
        "-O2",
        "-pipe",
        "-o",
        "main",
        "prog.c",
        "util.c",
        "/usr/local/lib/cexec/stdio.o",
        "-lm",
    ]


def test_expand_cpp_compile_exact_order() -> None:
    lang = LANGUAGES["cpp"]
    assert lang.compile is not None
    argv = expand(lang.compile, tool="g++", main="a.cpp", sources=["a.cpp", "b.cc"], stdio="s.o")
    assert argv == ["g++", "-std=c++17", "-O2", "-pipe", "-o", "main", "a.cpp", "b.cc", "s.o"]


def test_expand_rust_compile_uses_only_main() -> None:
    lang = LANGUAGES["rust"]
    assert lang.compile is not None
    argv = expand(lang.compile, tool="rustc", main="app.rs", sources=["app.rs", "m.rs"])
    assert argv == ["rustc", "--edition", "2021", "-O", "-o", "main", "app.rs"]


@pytest.mark.parametrize("name", ["c", "cpp", "rust"])
def test_user_names_come_only_after_the_compiler_flags(name: str) -> None:
    lang = LANGUAGES[name]
    assert lang.compile is not None
    user = ["u1" + lang.source_suffixes[0], "u2" + lang.source_suffixes[0]]
    argv = expand(lang.compile, tool="TOOL", main=user[0], sources=user, stdio="STDIO")
    positions = [i for i, part in enumerate(argv) if part in user]
    assert positions, argv
    out = argv.index("-o")
    # The output is our fixed binary name, never a user-chosen file.
    assert argv[out + 1] == BINARY
    # Every option before the operands is ours: user names appear only after `-o main`.
    assert min(positions) > out + 1
    assert argv[0] == "TOOL"
    for part in argv[1 : min(positions)]:
        assert part not in user
    # No user name is the argument of an option (the element right after a flag that takes one).
    for i in positions:
        assert argv[i - 1] not in {"-o", "-I", "-L", "-include", "-x", "--edition"}
