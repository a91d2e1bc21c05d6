"""lib.validation: every rule fires, evasions are seen, ordinary programs pass, limits hold (pure).

The ordinary programs live in tests/validation_corpus/ordinary/<language>/, one file each; every
one of them must pass the default policy with no finding at all.
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lib.config import ValidationMode
from lib.errors import ConfigError, InvalidRequest, RequestError
from lib.protocol import CloseCode, SourceFile
from lib.validation import (
    CODE_REJECTED,
    DEFAULT_POLICY,
    RULES,
    Action,
    CodeRejected,
    Limits,
    Policy,
    PolicyError,
    ValidationLimitExceeded,
    Validator,
    Violation,
    load_policy,
    treesitter,
)
from lib.validation.limits import Deadline
from lib.validation.policy import POLICY_FILE

CORPUS = Path(__file__).resolve().parent.parent / "validation_corpus" / "ordinary"
FACTOR = float(os.environ.get("CEXEC_TEST_TIMEOUT_FACTOR", "1"))
FAST_S = 3.0 * FACTOR  # "rejected cleanly and fast"
MAIN = {
    "python": "main.py",
    "javascript": "main.js",
    "c": "main.c",
    "cpp": "main.cpp",
    "rust": "main.rs",
}
VALIDATOR = Validator()


def check(
    language: str,
    code: str,
    *extra: SourceFile,
    validator: Validator = VALIDATOR,
) -> list[Violation]:
    return validator.check(language, [SourceFile(name=MAIN[language], content=code), *extra])


def rules(language: str, code: str, *extra: SourceFile) -> set[str]:
    return {v.rule for v in check(language, code, *extra)}


# --- every rule fires on a minimal example ------------------------------------------------------

RULE_EXAMPLES: dict[str, str] = {
    "py.subprocess": "import subprocess\nsubprocess.run(['ls'])\n",
    "py.os-exec": "import os\nos.system('ls')\n",
    "py.ctypes": "import ctypes\n",
    "py.socket": "import socket\n",
    "py.dynamic-code": "exec('print(1)')\n",
    "js.child-process": "require('child_process').execSync('ls');",
    "js.net": "const net = require('net');",
    "js.vm": "require('vm').runInThisContext('1');",
    "js.worker-threads": "const { Worker } = require('worker_threads');",
    "js.process-binding": "process.binding('fs');",
    "js.dynamic-code": "eval('1 + 1');",
    "c.asm": 'int main(void) { __asm__("nop"); return 0; }\n',
    "c.syscall": "#include <sys/syscall.h>\nlong syscall(long, ...);\n"
    "int main(void) { return (int)syscall(39); }\n",
    "c.dlopen": '#include <dlfcn.h>\nint main(void) { return dlopen("x.so", 1) != 0; }\n',
    "c.exec": '#include <stdlib.h>\nint main(void) { return system("ls"); }\n',
    "c.socket": "#include <sys/socket.h>\nint main(void) { return socket(2, 1, 0); }\n",
    "c.linker": 'static int run(const char *) __attribute__((weakref("system")));\n',
    "c.include-path": '#include "/etc/passwd"\n',
    "cpp.asm": 'int main() { asm volatile("nop"); }\n',
    "cpp.syscall": "#include <sys/ptrace.h>\nint main() {}\n",
    "cpp.dlopen": '#include <dlfcn.h>\nint main() { dlsym(nullptr, "system"); }\n',
    "cpp.exec": '#include <cstdlib>\nint main() { return std::system("ls"); }\n',
    "cpp.socket": '#include <netdb.h>\nint main() { gethostbyname("example.com"); }\n',
    "cpp.linker": '[[gnu::alias("system")]] int my_system(const char *);\n',
    "cpp.include-path": "#include <../../etc/passwd>\n",
    "rust.process-command": "use std::process::Command;\n"
    'fn main() { Command::new("ls").status().unwrap(); }\n',
    "rust.net": 'fn main() { let _ = std::net::TcpStream::connect("10.0.0.1:80"); }\n',
    "rust.extern": 'extern "C" {\n    fn system(cmd: *const u8) -> i32;\n}\nfn main() {}\n',
    "rust.asm": 'fn main() { unsafe { std::arch::asm!("nop"); } }\n',
    "rust.unsafe": 'fn main() { let v = [1]; println!("{}", unsafe { v.get_unchecked(0) }); }\n',
    "rust.include-path": 'const S: &str = include_str!("/etc/passwd");\nfn main() {}\n',
    "c.data-file": '#include "blob.h"\nint main(void) {}\n',
    "cpp.data-file": '#include "blob.h"\nint main() {}\n',
}
# Rules about a job's other files: the file each example comes with (base64 of bytes that are not
# UTF-8 text: lib.files keeps such a file as data, never parsed).
BLOB = SourceFile(name="blob.h", content="/wA=", encoding="base64")
RULE_FILES: dict[str, tuple[SourceFile, ...]] = {"c.data-file": (BLOB,), "cpp.data-file": (BLOB,)}


def example(rule: str, validator: Validator = VALIDATOR) -> list[Violation]:
    return check(
        RULES[rule].language, RULE_EXAMPLES[rule], *RULE_FILES.get(rule, ()), validator=validator
    )


def test_every_rule_has_an_example_and_nothing_else_does() -> None:
    assert set(RULE_EXAMPLES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_fires_with_its_default_action(rule: str) -> None:
    violations = example(rule)
    found = [v for v in violations if v.rule == rule]
    assert found, violations
    assert all(v.action == RULES[rule].action for v in found)
    names = {MAIN[RULES[rule].language], *(f.name for f in RULE_FILES.get(rule, ()))}
    assert all(v.line >= 1 and v.col >= 1 and v.file in names for v in found)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_rule_that_is_off_does_not_fire(rule: str) -> None:
    violations = example(rule, Validator(Policy({rule: Action.OFF})))
    assert rule not in {v.rule for v in violations}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_warn_mode_turns_every_deny_into_a_warn(rule: str) -> None:
    validator = Validator(load_policy(None, ValidationMode.WARN))
    violations = example(rule, validator)
    assert rule in {v.rule for v in violations}
    assert {v.action for v in violations} == {Action.WARN}
    assert validator.enforce(RULES[rule].language, [SourceFile(name="x", content="")]) == []


@pytest.mark.parametrize("rule", sorted(RULES))
def test_off_mode_finds_nothing(rule: str) -> None:
    assert example(rule, Validator(load_policy(None, ValidationMode.OFF))) == []


def test_rule_ids_are_stable_and_prefixed_by_their_language() -> None:
    prefixes = {"python": "py.", "javascript": "js.", "c": "c.", "cpp": "cpp.", "rust": "rust."}
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule_id.startswith(prefixes[rule.language])
        assert rule.description and "\n" not in rule.description


# --- evasions and aliasing are seen ------------------------------------------------------------

PYTHON_EVASIONS = [
    ("import subprocess as s\ns.run(['ls'])", "py.subprocess"),
    ("from subprocess import run as r\nr(['ls'])", "py.subprocess"),
    ("from subprocess import *", "py.subprocess"),
    ("import multiprocessing.pool", "py.subprocess"),
    ("def f():\n    import subprocess\n    return subprocess", "py.subprocess"),
    ("__import__('subprocess').run(['ls'])", "py.subprocess"),
    ("__import__('sub' + 'process')", "py.subprocess"),
    ("import importlib\nimportlib.import_module('soc' + 'ket')", "py.socket"),
    ("import sys\nsys.modules['subprocess']", "py.subprocess"),
    ("import asyncio\nasyncio.create_subprocess_exec('ls')", "py.subprocess"),
    ("import asyncio\nasyncio.subprocess.PIPE", "py.subprocess"),
    ("from asyncio import subprocess", "py.subprocess"),
    ("from concurrent.futures import ProcessPoolExecutor", "py.subprocess"),
    ("import pty\npty.spawn('sh')", "py.subprocess"),
    ("import os as o\no.system('ls')", "py.os-exec"),
    ("from os import system as run\nrun('ls')", "py.os-exec"),
    ("from os import *\nsystem('ls')", "py.os-exec"),
    ("import os\nx = os\ny = x\ny.popen('ls')", "py.os-exec"),
    ("import os\na, b = os, 1\na.fork()", "py.os-exec"),
    ("import os\ngetattr(os, 'sys' + 'tem')('ls')", "py.os-exec"),
    ("import os\ngetattr(os, f'system')('ls')", "py.os-exec"),
    ("import os\nname = input()\ngetattr(os, name)('ls')", "py.os-exec"),
    ("import os\nvars(os)['execv']('/bin/sh', ['sh'])", "py.os-exec"),
    ("import os\nos.__dict__['fork']()", "py.os-exec"),
    ("import os\nos.__getattribute__('system')('ls')", "py.os-exec"),
    ("import sys\nsys.modules['os'].system('ls')", "py.os-exec"),
    ("import shutil\nshutil.os.system('ls')", "py.os-exec"),
    ("import posix\nposix.system('ls')", "py.os-exec"),
    ("__import__('os').system('ls')", "py.os-exec"),
    ("(o := __import__('os')).execvp('sh', ['sh'])", "py.os-exec"),
    ("import os\nos.spawnl(os.P_WAIT, '/bin/sh', 'sh')", "py.os-exec"),
    ("import os\nos.posix_spawn('/bin/sh', ['sh'], {})", "py.os-exec"),
    ("import os\nos.forkpty()", "py.os-exec"),
    ("import ctypes.util", "py.ctypes"),
    ("from ctypes import CDLL", "py.ctypes"),
    ("import cffi", "py.ctypes"),
    ("import urllib.request", "py.socket"),
    ("from http import client", "py.socket"),
    ("import ssl", "py.socket"),
    ("import asyncio\nasyncio.open_connection('h', 1)", "py.socket"),
    ("getattr(__builtins__, 'exec')('1')", "py.dynamic-code"),
    ("__builtins__.__dict__['eval']('1')", "py.dynamic-code"),
    ("import builtins\nbuiltins.eval('1')", "py.dynamic-code"),
    ("e = eval\ne('1')", "py.dynamic-code"),
    ("compile('1', 'x', 'eval')", "py.dynamic-code"),
    ("breakpoint()", "py.dynamic-code"),
    ("import importlib", "py.dynamic-code"),
    ("import runpy", "py.dynamic-code"),
    ("().__class__.__base__.__subclasses__()", "py.dynamic-code"),
    ("f = lambda: 0\nprint(f.__globals__)", "py.dynamic-code"),
    ("def f():\n    pass\nf.__code__ = None", "py.dynamic-code"),
    ("getattr(print, '__globals__')", "py.dynamic-code"),
    ("import types\ntypes.FunctionType", "py.dynamic-code"),
    # Names bound in a class body are not visible in its methods: this eval is the builtin.
    ("class A:\n    eval = 1\n\n    def m(self):\n        return eval('1')", "py.dynamic-code"),
    # A parameter of one function does not shadow the builtin elsewhere.
    ("def f(eval):\n    return eval\n\neval('1')", "py.dynamic-code"),
    # The interpreter honours the coding cookie, and so does the checker: the +AAo- is a newline.
    ("# -*- coding: utf-7 -*-\nx = 1 #+AAo-import subprocess\n", "py.subprocess"),
]


@pytest.mark.parametrize(("code", "rule"), PYTHON_EVASIONS)
def test_python_evasions_are_seen(code: str, rule: str) -> None:
    assert rule in rules("python", code)


PYTHON_HARMLESS = [
    "import sys\ndata = sys.stdin.read().split()\nprint(sum(map(int, data)))",
    "import sys\nsys.setrecursionlimit(10**6)\nsys.stdout.write(sys.stdin.readline())",
    "x = input()\nprint(x)",
    "def eval(expr):\n    return expr\n\nprint(eval(3))",
    "def f(compile):\n    return compile(1)",
    "class Parser:\n    def eval(self, x):\n        return x\n\nParser().eval(1)",
    "import re\nre.compile('a+').match('aa')",
    "import platform\nplatform.system()",
    "import os\nos.path.join('a', 'b')\nos.getcwd()\nos.listdir('.')\nos.environ.get('X')",
    "from os import path, getcwd, environ",
    "import http\nprint(http.HTTPStatus.OK)",
    "s = 'import subprocess; os.system(1)'\nprint(s)  # import socket",
    "x = {'eval': 1, 'exec': 2}\nprint(x['eval'])",
    "class Socket:\n    pass\n\nsocket = Socket()\nsocket.connect = 1",
    "from concurrent.futures import ThreadPoolExecutor\nimport threading",
    "import typing\nT = typing.TypeVar('T')",
    "from . import helper",
    "import math, collections, itertools, functools, heapq, bisect",
    "import json\nwith open('data.txt', 'w') as f:\n    json.dump([1], f)",
    "def system(cmd):\n    return cmd\n\nsystem('ls')",
]


@pytest.mark.parametrize("code", PYTHON_HARMLESS)
def test_python_ordinary_constructs_pass(code: str) -> None:
    assert check("python", code) == []


JAVASCRIPT_EVASIONS = [
    ("const cp = require('node:child_process');", "js.child-process"),
    ("const { exec } = require('child_' + 'process');", "js.child-process"),
    ("require(`child_process`);", "js.child-process"),
    ("require('child\\x5fprocess');", "js.child-process"),
    ("require('child\\u005fprocess');", "js.child-process"),
    ("import { spawn } from 'child_process';", "js.child-process"),
    ("import * as cp from 'node:child_process';", "js.child-process"),
    ("export { exec } from 'child_process';", "js.child-process"),
    ("import('child_process').then((m) => m.exec('ls'));", "js.child-process"),
    ("module.require('child_process');", "js.child-process"),
    ("process.mainModule.require('child_process');", "js.child-process"),
    ("require('module')._load('child_process');", "js.child-process"),
    ("process.execve('/bin/sh', []);", "js.child-process"),
    ("require('http2');", "js.net"),
    ("require('dns/promises');", "js.net"),
    ("require('node:https').get('x');", "js.net"),
    ("require('_http_client');", "js.net"),
    ("import dgram from 'dgram';", "js.net"),
    ("require('inspector');", "js.vm"),
    ("require('cluster');", "js.worker-threads"),
    ("process['bind' + 'ing']('fs');", "js.process-binding"),
    ("const { binding } = process;", "js.process-binding"),
    ("const { _linkedBinding: b } = process;", "js.process-binding"),
    ("globalThis.process.binding('fs');", "js.process-binding"),
    ("process.dlopen(module, 'x.node');", "js.process-binding"),
    ("require('./addon.node');", "js.process-binding"),
    ("const key = 'x'; process[key]('fs');", "js.process-binding"),
    ("(0, eval)('1');", "js.dynamic-code"),
    ("globalThis.eval('1');", "js.dynamic-code"),
    ("new Function('return 1')();", "js.dynamic-code"),
    ("Function('return 1')();", "js.dynamic-code"),
    ("(() => {}).constructor('return process')();", "js.dynamic-code"),
    ("const r = require; r('child_process');", "js.dynamic-code"),
    ("const name = 'child_process'; require(name);", "js.dynamic-code"),
    ("const name = 'x'; import(name);", "js.dynamic-code"),
    ("require.call(null, 'child_process');", "js.dynamic-code"),
    ("require('../outside.js');", "js.dynamic-code"),
    ("require('/usr/lib/node_modules/x');", "js.dynamic-code"),
    ("require('module').createRequire(__filename);", "js.dynamic-code"),
]


@pytest.mark.parametrize(("code", "rule"), JAVASCRIPT_EVASIONS)
def test_javascript_evasions_are_seen(code: str, rule: str) -> None:
    assert rule in rules("javascript", code)


JAVASCRIPT_HARMLESS = [
    "const fs = require('fs'); const s = fs.readFileSync(0, 'utf8');",
    "const s = require('fs').readFileSync('/dev/stdin').toString();",
    "const { stdin, stdout, argv, env } = process;",
    "const rl = require('readline').createInterface({ input: process.stdin });",
    "const obj = {}; obj.eval = 1; obj.binding = 2; obj.require = 3;",
    "const evaluate = (s) => s; evaluate('1');",
    "console.log('child_process', \"require('net')\"); // require('vm')",
    "process.env.HOME; process.argv; process.exit(0); process.hrtime.bigint();",
    "new Map(); new Set(); new Promise((r) => r());",
    "class A { constructor() { this.x = 1; } } new A();",
    "const path = require('node:path'); const os = require('os'); os.EOL;",
    "import fs from 'fs'; import { createInterface } from 'node:readline';",
    "require.resolve; require.cache; require.main === module;",
]


@pytest.mark.parametrize("code", JAVASCRIPT_HARMLESS)
def test_javascript_ordinary_constructs_pass(code: str) -> None:
    assert check("javascript", code) == []


C_EVASIONS = [
    ('int main(void) { sys\\\ntem("ls"); }', "c.exec"),  # a backslash-newline splice
    ("??=include <sys/socket.h>", "c.socket"),  # a trigraph: honoured by gcc -std=c11
    ("%:include <dlfcn.h>", "c.dlopen"),  # a digraph
    ('#define RUN system\nint main(void) { RUN("ls"); }', "c.exec"),
    ("int (*p)(const char *) = system;", "c.exec"),
    ("int (*p)(const char *) = &system;", "c.exec"),
    ('int main(void) { return execve("/bin/sh", 0, 0); }', "c.exec"),
    ("int main(void) { return fork(); }", "c.exec"),
    ("int main(void) { return vfork(); }", "c.exec"),
    ('int main(void) { popen("ls", "r"); }', "c.exec"),
    ("#include <spawn.h>", "c.exec"),
    ('int my_system(const char *) __asm__("system");', "c.asm"),
    ('asm(".globl x");', "c.asm"),
    ("#define RAW __asm__\n", "c.asm"),
    ("#pragma redefine_extname my_system system", "c.linker"),
    ('_Pragma("redefine_extname my_system system")', "c.linker"),
    ('__attribute__((section(".text"))) const char code[] = "\\xc3";', "c.linker"),
    ("#include_next <sys/socket.h>", "c.socket"),
    ('#import "/etc/passwd"', "c.include-path"),
    ('#include "../secret.h"', "c.include-path"),
    ("int main(void) { return getaddrinfo(0, 0, 0, 0); }", "c.socket"),
    ("int main(void) { return mprotect(0, 0, 7); }", "c.syscall"),
    ("#include <asm/unistd_64.h>", "c.syscall"),
    ('int main(void) { void *h = dlopen("libc.so.6", 2); }', "c.dlopen"),
    # A syntax error elsewhere does not hide what can still be seen.
    ('int main(void) { int x = ; system("ls"); }', "c.exec"),
]


@pytest.mark.parametrize(("code", "rule"), C_EVASIONS)
def test_c_evasions_are_seen(code: str, rule: str) -> None:
    assert rule in rules("c", code)


CPP_EVASIONS = [
    ('int main() { std::system("ls"); }', "cpp.exec"),
    ('int main() { ::system("ls"); }', "cpp.exec"),
    ("auto f = &std::system;", "cpp.exec"),
    ("using std::system;", "cpp.exec"),
    ("#include <boost/asio.hpp>", "cpp.socket"),
    ('int main() { __asm__ __volatile__("nop"); }', "cpp.asm"),
    ('int main() { sys\\\ntem("ls"); }', "cpp.exec"),
    ('[[gnu::section(".text")]] const char code[] = "";', "cpp.linker"),
]


@pytest.mark.parametrize(("code", "rule"), CPP_EVASIONS)
def test_cpp_evasions_are_seen(code: str, rule: str) -> None:
    assert rule in rules("cpp", code)


C_HARMLESS = [
    ("c", "int system_status = 1; int forked = 0; int sockets[3];"),
    ("c", "struct s { int socket; }; int f(struct s *p) { return p->socket; }"),
    ("c", "int fork[5]; int main(void) { return fork[1]; }"),
    (
        "c",
        'static int system(const char *c) { return c[0]; }\nint main(void) { return system("x"); }',
    ),
    ("c", "#ifdef fork\n#endif\n#if defined(system)\n#endif"),
    ("c", 'int main(void) { printf("system(\\"ls\\")"); /* fork(); */ } // popen('),
    ("c", 'int main(void) { char *asm_code = "x"; int asmx = 0; return 0; }'),
    ("c", "enum { socket = 3 }; int main(void) { return socket; }"),
    ("c", "#define CALL(fork) (fork + 1)\nint main(void) { return CALL(2); }"),
    ("c", "#include <unistd.h>\nint main(void) { char b[4]; return (int)read(0, b, 4); }"),
    ("cpp", "#include <bits/stdc++.h>\nusing namespace std;\nint main() { auto g = bind(f, 1); }"),
    ("cpp", "int main() { obj.system(); Foo::system(); ptr->fork(); std::bind(f, 1); }"),
    ("cpp", "struct A { int system; int f() { return system; } };"),
    ("cpp", '#pragma GCC optimize("O3")\n#pragma GCC target("avx2")\nint main() {}'),
    ("cpp", "[[nodiscard]] int f(); __attribute__((always_inline)) inline int g() { return 1; }"),
]


@pytest.mark.parametrize(("language", "code"), C_HARMLESS)
def test_c_family_ordinary_constructs_pass(language: str, code: str) -> None:
    assert check(language, code) == []


def test_trigraphs_are_c_only() -> None:
    # gcc -std=c11 reads `??/` as a backslash, so the comment swallows the next line; g++
    # -std=c++17 has no trigraphs, so there the call is real.
    code = "int main(void) {\n  // ??/\n  fork();\n}\n"
    assert rules("c", code) == set()
    assert rules("cpp", code) == {"cpp.exec"}


RUST_EVASIONS = [
    ('use std::process::Command as C;\nfn main() { C::new("ls"); }', "rust.process-command"),
    ('use std::process as p;\nfn main() { p::Command::new("ls"); }', "rust.process-command"),
    ('use std::process::*;\nfn main() { Command::new("ls"); }', "rust.process-command"),
    ("use std::{io, process::{self, Command}};\nfn main() {}", "rust.process-command"),
    ('use std::process;\nfn main() { process::Command::new("ls"); }', "rust.process-command"),
    ('fn main() { ::std::process::Command::new("ls"); }', "rust.process-command"),
    ('fn main() { println!("{:?}", std::process::Command::new("ls")); }', "rust.process-command"),
    ('macro_rules! sh { () => { std::process::Command::new("sh") } }', "rust.process-command"),
    (
        'extern crate std as s;\nfn main() { s::process::Command::new("ls"); }',
        "rust.process-command",
    ),
    ("use std::os::unix::process::CommandExt;", "rust.process-command"),
    ('fn main() { std::process::/* x */Command::new("ls"); }', "rust.process-command"),
    ("use std::os::unix::net::UnixStream;", "rust.net"),
    ("use std::net::*;", "rust.net"),
    ('use std::*;\nfn main() { net::TcpStream::connect("x"); }', "rust.net"),
    ("fn f(_: std::net::UdpSocket) {}", "rust.net"),
    ('#[link(name = "c")]\nextern {}', "rust.extern"),
    ('#[no_mangle]\npub extern "C" fn free() {}', "rust.extern"),
    ('#[unsafe(no_mangle)]\npub extern "C" fn f() {}', "rust.extern"),
    ('#[export_name = "malloc"]\npub fn f() {}', "rust.extern"),
    ("extern crate libc;", "rust.extern"),
    ('macro_rules! ffi { () => { extern "C" { fn f(); } } }', "rust.extern"),
    ('core::arch::global_asm!("nop");', "rust.asm"),
    ('fn main() { unsafe { asm!("nop") } }', "rust.asm"),
    ("#[naked]\nfn f() {}", "rust.asm"),
    ('#[path = "/etc/passwd"]\nmod m;', "rust.include-path"),
    ('include!(concat!("/etc", "/x"));', "rust.include-path"),
    ('const B: &[u8] = include_bytes!("../../etc/shadow");', "rust.include-path"),
    ("unsafe fn f() {}", "rust.unsafe"),
    ("struct S;\nunsafe impl Send for S {}", "rust.unsafe"),
]


@pytest.mark.parametrize(("code", "rule"), RUST_EVASIONS)
def test_rust_evasions_are_seen(code: str, rule: str) -> None:
    assert rule in rules("rust", code)


RUST_HARMLESS = [
    "use std::process;\nfn main() { process::exit(0); }",
    "fn main() { std::process::exit(1); }",
    "enum Command { A }\nfn main() { let _ = Command::A; }",
    "mod process { pub struct Command; }\nfn main() { let _ = process::Command; }",
    "extern crate std;",
    'pub extern "C" fn callback() {}\nfn main() {}',
    'fn main() { let s = "std::process::Command"; } // std::net::TcpStream',
    "use std::io::prelude::*;\nuse std::io::{self, BufRead, Write};",
    'fn main() { let asm = 1; println!("{}", asm); }',
    "use std::collections::*;\nfn main() { let mut m = HashMap::new(); m.insert(1, 2); }",
]


@pytest.mark.parametrize("code", RUST_HARMLESS)
def test_rust_ordinary_constructs_pass(code: str) -> None:
    assert check("rust", code) == []


# --- ordinary programs pass --------------------------------------------------------------------

CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file())


def test_the_corpus_is_large_enough() -> None:
    per_language = {lang: len(list((CORPUS / lang).iterdir())) for lang in MAIN}
    assert all(n >= 10 for n in per_language.values()), per_language
    assert sum(per_language.values()) >= 50


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_ordinary_program_passes_the_default_policy(path: Path) -> None:
    files = [SourceFile(name=path.name, content=path.read_text(encoding="utf-8"))]
    assert VALIDATOR.check(path.parent.name, files) == []
    assert VALIDATOR.enforce(path.parent.name, files) == []


# --- jobs of several files ---------------------------------------------------------------------


def test_javascript_requires_a_file_of_the_job() -> None:
    util = SourceFile(name="util.js", content="module.exports = { twice: (x) => 2 * x };")
    assert check("javascript", "const { twice } = require('./util');", util) == []
    assert check("javascript", "require('./util.js');", util) == []
    other = SourceFile(name="other.js", content="require('child_process');")
    found = check("javascript", "require('./other');", other)
    assert [(v.rule, v.file) for v in found] == [("js.child-process", "other.js")]


def test_every_javascript_file_is_checked_whatever_its_suffix() -> None:
    # Node loads `require('./lib.txt')` as JavaScript.
    lib = SourceFile(name="lib.txt", content="require('net');")
    assert "js.net" in rules("javascript", "require('./lib.txt');", lib)


def test_a_native_addon_in_a_javascript_job_is_reported() -> None:
    addon = SourceFile(name="fast.node", content="\x7fELF")
    assert "js.process-binding" in rules("javascript", "console.log(1);", addon)


def test_a_shared_object_in_a_python_job_is_reported() -> None:
    extension = SourceFile(name="fast.so", content="\x7fELF")
    assert "py.ctypes" in rules("python", "import fast", extension)


def test_a_python_module_of_the_job_shadows_the_standard_library() -> None:
    own = SourceFile(name="code.py", content="def solve():\n    return 1\n")
    assert check("python", "import code\ncode.solve()\n", own) == []
    assert "py.dynamic-code" in rules("python", "import code\n")


def test_every_python_file_is_checked() -> None:
    helper = SourceFile(name="helper.py", content="import socket\n")
    found = check("python", "import helper\n", helper)
    assert [(v.rule, v.file, v.line) for v in found] == [("py.socket", "helper.py", 1)]


def test_c_headers_and_included_files_are_checked_but_data_files_are_not() -> None:
    header = SourceFile(name="util.h", content='static void go(void) { system("ls"); }\n')
    data = SourceFile(name="input.txt", content="the system (of equations) is asm\n")
    found = check("c", '#include "util.h"\nint main(void) { return 0; }\n', header, data)
    assert [(v.rule, v.file) for v in found] == [("c.exec", "util.h")]
    included = SourceFile(name="part.inc", content='int f(void) { return system("x"); }')
    found = check("c", '#include "part.inc"\n', included)
    assert [(v.rule, v.file) for v in found] == [("c.exec", "part.inc")]


def test_rust_included_files_are_checked() -> None:
    part = SourceFile(name="part.txt", content="use std::net::TcpStream;")
    found = check("rust", 'include!("part.txt");\nfn main() {}\n', part)
    assert [(v.rule, v.file) for v in found] == [("rust.net", "part.txt")]
    module = SourceFile(name="util.rs", content='pub fn f() { std::process::Command::new("x"); }')
    assert "rust.process-command" in rules("rust", "mod util;\nfn main() {}\n", module)


# --- positions ---------------------------------------------------------------------------------


def test_columns_count_characters_not_bytes() -> None:
    [violation] = check("python", "x = 'é'; import subprocess\n")
    assert (violation.line, violation.col) == (1, 17)
    [violation] = check("javascript", "const é = 1; require('net');")
    assert (violation.line, violation.col) == (1, 22)


def test_positions_after_c_translation_point_at_the_original_text() -> None:
    found = check("c", 'char *s = "??=";\nint main(void) {\n  sys\\\ntem("ls");\n  fork();\n}\n')
    assert [(v.line, v.col) for v in found] == [(3, 3), (5, 3)]
    found = check("c", 'char *s = "??=??/\n";\nint main(void) { return fork(); }\n')
    assert [(v.line, v.col) for v in found] == [(3, 25)]


# --- syntax errors are not rejections ----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python", "def f(:\n    pass\n"),
        ("python", "x = 1\x00"),
        ("javascript", "function ( {"),
        ("c", "int main( {"),
        ("cpp", "template <class T struct X"),
        ("rust", "fn main( {"),
        ("python", "\udcff = 1"),  # a lone surrogate: not valid UTF-8 at all
    ],
)
def test_a_syntax_error_is_left_to_the_compiler(language: str, code: str) -> None:
    assert check(language, code) == []


# --- limits ------------------------------------------------------------------------------------


def test_a_huge_input_is_refused_fast() -> None:
    started = time.monotonic()
    with pytest.raises(ValidationLimitExceeded) as caught:
        check("cpp", "int x;\n" * 60_000)  # 420 KB
    assert time.monotonic() - started < FAST_S
    assert caught.value.limit == "size"
    assert "262144" in caught.value.message


def test_the_size_limit_counts_every_file() -> None:
    validator = Validator(limits=Limits(max_bytes=100))
    extra = SourceFile(name="b.py", content="x = 1\n" * 10)
    with pytest.raises(ValidationLimitExceeded):
        check("python", "y = 2\n" * 10, extra, validator=validator)


DEEP = [
    ("python", "x = " + "-" * 100_000 + "1\n"),  # CPython's parser gives up (MemoryError)
    ("python", "x = " + "+".join(["a"] * 5_000) + "\n"),  # parses; deeper than max_depth
    ("python", "x = " + "[" * 150 + "]" * 150 + "\n" + "y = f" + "(1)" * 3_000 + "\n"),
    ("javascript", "x = " + "[" * 50_000 + "]" * 50_000 + ";"),
    ("c", "int main(void) {" + "{" * 50_000 + "}" * 50_000 + "}"),
    ("cpp", "int x = " + "(" * 100_000 + "1" + ")" * 100_000 + ";"),
    ("rust", "fn main() { let x = " + "(" * 100_000 + "1" + ")" * 100_000 + "; }"),
]


@pytest.mark.parametrize(
    ("language", "code"), DEEP, ids=[f"{lang}-{i}" for i, (lang, _) in enumerate(DEEP)]
)
def test_a_deeply_nested_input_is_refused_fast(language: str, code: str) -> None:
    started = time.monotonic()
    with pytest.raises(ValidationLimitExceeded) as caught:
        check(language, code)
    assert time.monotonic() - started < FAST_S
    assert caught.value.limit == "depth"
    assert caught.value.code == CODE_REJECTED
    assert "deeper than 1000" in caught.value.message


def test_a_large_ordinary_program_is_checked_well_within_the_budget() -> None:
    body = "".join(f"    long long v{i} = a[{i}] * {i} + (b[{i}] >> 2);\n" for i in range(4000))
    code = f"#include <bits/stdc++.h>\nint a[4000], b[4000];\nint main() {{\n{body}}}\n"
    assert len(code) < Limits().max_bytes
    started = time.monotonic()
    assert check("cpp", code) == []
    assert time.monotonic() - started < Limits().time_budget_s


@pytest.mark.parametrize("language", sorted(MAIN))
def test_the_time_budget_is_enforced(language: str) -> None:
    validator = Validator(limits=Limits(time_budget_s=0.0))
    with pytest.raises(ValidationLimitExceeded) as caught:
        check(language, "x = 1;\n" * 10, validator=validator)
    assert caught.value.limit == "time"
    # A cancelled parse leaves the shared parser usable for the next job.
    assert check(language, "") == []


def test_the_deadline_uses_the_clock_it_is_given() -> None:
    now = [100.0]
    deadline = Deadline(2.0, clock=lambda: now[0])
    deadline.check("main.py")
    now[0] = 102.5
    assert deadline.expired()
    with pytest.raises(ValidationLimitExceeded, match="within 2 s"):
        deadline.check("main.py")


def test_a_policy_that_only_warns_lets_code_over_a_limit_through() -> None:
    files = [SourceFile(name="main.c", content="int x = " + "(" * 5000 + "1" + ")" * 5000 + ";")]
    warn = Validator(load_policy(None, ValidationMode.WARN))
    with pytest.raises(ValidationLimitExceeded):
        warn.check("c", files)
    assert warn.enforce("c", files) == []
    with pytest.raises(ValidationLimitExceeded):
        VALIDATOR.enforce("c", files)


def test_limits_apply_only_when_a_rule_of_the_language_is_on() -> None:
    everything_off = Policy(dict.fromkeys(RULES, Action.OFF))
    validator = Validator(everything_off, Limits(max_bytes=10))
    assert check("rust", "fn main() {}\n" * 100, validator=validator) == []


# --- the policy --------------------------------------------------------------------------------


def test_the_shipped_file_lists_every_rule_with_its_default() -> None:
    shipped = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))["rules"]
    assert list(shipped) == list(RULES)
    for rule_id, entry in shipped.items():
        assert entry == {
            "action": str(RULES[rule_id].action),
            "description": RULES[rule_id].description,
        }
    assert dict(load_policy(None, ValidationMode.DENY)) == dict(DEFAULT_POLICY)


def test_the_default_blocks_everything_but_unsafe_rust() -> None:
    assert {k for k, v in DEFAULT_POLICY.items() if v != Action.DENY} == {"rust.unsafe"}
    assert DEFAULT_POLICY["rust.unsafe"] == Action.WARN


def test_a_custom_file_overrides_and_keeps_defaults_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[rules]\n"py.dynamic-code" = "warn"\n"js.vm" = { action = "off" }\n'
        '"rust.unsafe" = { action = "deny", description = "no unsafe here" }\n'
    )
    policy = load_policy(str(path), ValidationMode.DENY)
    assert policy["py.dynamic-code"] == Action.WARN
    assert policy["js.vm"] == Action.OFF
    assert policy["rust.unsafe"] == Action.DENY
    assert policy["py.subprocess"] == Action.DENY
    warned = load_policy(str(path), ValidationMode.WARN)
    assert warned["js.vm"] == Action.OFF  # off stays off
    assert warned["rust.unsafe"] == warned["py.subprocess"] == Action.WARN
    assert set(load_policy(str(path), ValidationMode.OFF).values()) == {Action.OFF}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[rules]\n"py.subproces" = "deny"\n', "did you mean 'py.subprocess'"),
        ('[rules]\n"py.subprocess" = "block"\n', "off, warn, deny"),
        ('[rules]\n"py.subprocess" = 1\n', "must be a string"),
        ('[rules]\n"py.subprocess" = { action = "deny", level = 2 }\n', "only `action`"),
        ('[rule]\n"py.subprocess" = "deny"\n', "unknown top-level keys"),
        ("rules = 3\n", "must be a table"),
        ("[rules\n", "not valid TOML"),
    ],
)
def test_a_bad_policy_file_fails_fast(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path), ValidationMode.DENY)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ConfigError)
    assert caught.value.path == str(path)


def test_a_missing_policy_file_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path / "nope.toml"), ValidationMode.DENY)


def test_a_policy_is_an_immutable_mapping_over_every_rule() -> None:
    assert len(DEFAULT_POLICY) == len(RULES)
    with pytest.raises(TypeError):
        DEFAULT_POLICY["py.subprocess"] = Action.OFF  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown rule ids"):
        Policy({"py.nope": Action.DENY})


# --- the error ---------------------------------------------------------------------------------


def test_enforce_raises_code_rejected_with_the_violations() -> None:
    files = [SourceFile(name="main.py", content="import os\nimport socket\nos.system('ls')\n")]
    with pytest.raises(CodeRejected) as caught:
        VALIDATOR.enforce("python", files)
    exc = caught.value
    assert isinstance(exc, RequestError)
    assert exc.code == CODE_REJECTED == "code_rejected"
    assert exc.close_code == CloseCode.POLICY_VIOLATION
    assert [(v.rule, v.line, v.col) for v in exc.violations] == [
        ("py.socket", 2, 8),
        ("py.os-exec", 3, 1),
    ]
    assert "main.py:2:8" in exc.message and "[py.socket]" in exc.message
    assert json.loads(json.dumps([v.as_dict() for v in exc.violations]))[0] == {
        "rule": "py.socket",
        "message": exc.violations[0].message,
        "line": 2,
        "col": 8,
        "action": "deny",
        "file": "main.py",
    }


def test_enforce_returns_warnings_without_raising() -> None:
    files = [SourceFile(name="main.rs", content=RULE_EXAMPLES["rust.unsafe"])]
    [warning] = VALIDATOR.enforce("rust", files)
    assert (warning.rule, warning.action) == ("rust.unsafe", Action.WARN)


def test_the_message_lists_a_few_denials_and_counts_the_rest() -> None:
    code = "".join(f"import socket as s{i}\n" for i in range(8))
    with pytest.raises(CodeRejected) as caught:
        VALIDATOR.enforce("python", [SourceFile(name="main.py", content=code)])
    assert len(caught.value.violations) == 8
    assert caught.value.message.endswith("and 3 more")


def test_a_limit_is_a_code_rejected_too() -> None:
    exc = ValidationLimitExceeded("size", "too big")
    assert isinstance(exc, CodeRejected) and isinstance(exc, RequestError)
    assert (exc.code, exc.violations, exc.limit) == (CODE_REJECTED, (), "size")


# --- the validator -----------------------------------------------------------------------------


def test_languages_are_resolved_by_name_or_alias() -> None:
    files: Sequence[SourceFile] = [SourceFile(name="main.py", content="import socket")]
    assert VALIDATOR.check("py", files) == VALIDATOR.check("python", files)
    assert rules("cpp", "int main() { fork(); }") == {"cpp.exec"}
    assert VALIDATOR.check("C++", [SourceFile(name="a.cpp", content="int main() { fork(); }")])
    with pytest.raises(InvalidRequest):
        VALIDATOR.check("cobol", files)


def test_one_finding_per_place() -> None:
    found = check("python", "import os\nos.system('a'); os.system('b')\n")
    assert [(v.rule, v.line, v.col) for v in found] == [("py.os-exec", 2, 1), ("py.os-exec", 2, 17)]


def test_languages_and_parsers_are_built_once_and_reused() -> None:
    check("c", "int main(void) { return 0; }")
    assert treesitter._language("c") is treesitter._language("c")
    assert treesitter._parser("c") is treesitter._parser("c")  # in this thread
    assert set(treesitter.languages()) == {"javascript", "c", "cpp", "rust"}
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(treesitter._parser, "c").result()
    assert other is not treesitter._parser("c")  # a parser is not shared between threads


def test_checks_from_several_threads_agree() -> None:
    code = '#include <stdlib.h>\nint main(void) { system("ls"); return fork(); }\n'
    expected = check("c", code)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: check("c", code), range(40)))
    assert all(r == expected for r in results)
    assert [v.rule for v in expected] == ["c.exec", "c.exec"]


@pytest.mark.parametrize(
    ("language", "name", "rule"),
    [
        ("python", "mod.so", "py.ctypes"),
        ("python", "mod.cpython-311-x86_64-linux-gnu.so", "py.ctypes"),
        ("python", "mod.pyc", "py.ctypes"),
        ("javascript", "addon.node", "js.process-binding"),
        ("c", "data.bin", "c.data-file"),
        ("cpp", "x.inc", "cpp.data-file"),
    ],
)
def test_a_data_file_that_could_load_as_code_is_refused(
    language: str, name: str, rule: str
) -> None:
    """Bytes the validator cannot read, with a name that the import system, Node or the
    preprocessor would load: refused as if the code had asked for native code."""
    blob = SourceFile(name=name, content="f0VMRgIBAQA=", encoding="base64")
    assert rule in rules(language, "", blob)


@pytest.mark.parametrize(("language", "name"), [("python", "data.bin"), ("rust", "blob.bin")])
def test_other_data_files_are_data(language: str, name: str) -> None:
    blob = SourceFile(name=name, content="/wA=", encoding="base64")
    code = "fn main() {}\n" if language == "rust" else "print(1)\n"
    assert rules(language, code, blob) == set()
