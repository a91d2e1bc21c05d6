"""Judge mode against hostile programs, code validation off (`sandbox_stack`): the sandbox and the
per-test copies alone must keep one test from shaping the next.

- a compiled program that replaces, deletes, chmods or swaps its own binary (`./main`) for a
  symlink to /etc/shadow, a directory or a FIFO: the next test runs the original program again,
  from a fresh copy, and nothing of the worker follows the link or blocks on the FIFO;
- a program that leaves a background process behind: it does not outlive its test, and neither
  its writes nor its signals reach the next one;
- a request cannot ship its own `main` beside the source: the copied program is only ever what
  the compiler wrote. (What the compiler writes from a source is the source's business: there is
  no other compile-time path into the copies, so nothing more is tested there.)
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest

from tests.client import Outcome, run
from tests.conftest import Stack, scaled
from tests.hostile.test_hostile import SHADOW_ENTRY, slot_processes, worker_slots

pytestmark = pytest.mark.e2e

LEFTOVER_GRACE_S = 2.0

# stdin names what to do to ./main after printing "original"; "check" reports what ./main is.
C_TAMPER = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind(const char *path) {
  struct stat st;
  static char buf[64];
  if (lstat(path, &st) != 0) return "missing";
  if (S_ISLNK(st.st_mode)) return "symlink";
  if (S_ISDIR(st.st_mode)) return "dir";
  if (S_ISFIFO(st.st_mode)) return "fifo";
  if (!S_ISREG(st.st_mode)) return "other";
  snprintf(buf, sizeof buf, "regular %o", (unsigned)(st.st_mode & 07777));
  return buf;
}

static int same_as_running(void) {
  /* ./main is byte for byte the program that runs (/proc/self/exe). */
  char a[4096], b[4096];
  int fa = open("main", O_RDONLY | O_NOFOLLOW), fb = open("/proc/self/exe", O_RDONLY);
  if (fa < 0 || fb < 0) return 0;
  for (;;) {
    ssize_t na = read(fa, a, sizeof a), nb = read(fb, b, sizeof b);
    if (na != nb || na < 0) return 0;
    if (na == 0) return 1;
    if (memcmp(a, b, (size_t)na) != 0) return 0;
  }
}

static int write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n < 0 ? -1 : 0;
}

int main(void) {
  char what[32] = "";
  if (scanf("%31s", what) != 1) return 2;
  printf("original\n");
  fflush(stdout);
  int rc = 0;
  if (strcmp(what, "check") == 0) {
    printf("%s %s\n", kind("main"), same_as_running() ? "same" : "different");
    return 0;
  } else if (strcmp(what, "replace") == 0) {
    rc = unlink("main") || write_file("main", "#!/bin/sh\necho replaced\n", 0755);
  } else if (strcmp(what, "symlink") == 0) {
    rc = unlink("main") || symlink("/etc/shadow", "main");
  } else if (strcmp(what, "chmod") == 0) {
    rc = chmod("main", 0);
  } else if (strcmp(what, "dir") == 0) {
    rc = unlink("main") || mkdir("main", 0700);
  } else if (strcmp(what, "fifo") == 0) {
    rc = unlink("main") || mkfifo("main", 0600);
  } else if (strcmp(what, "delete") == 0) {
    rc = unlink("main");
  } else {
    return 3;
  }
  fprintf(stderr, "%s: %s -> %s\n", what, rc ? "failed" : "done", kind("main"));
  return 0;
}
"""

ATTACKS = {
    # what, and what ./main is afterwards (the attack must really have happened)
    "replace": "regular 755",
    "symlink": "symlink",
    "chmod": "regular 0",
    "dir": "dir",
    "fifo": "fifo",
    "delete": "missing",
}

# "spawn": leave a detached grandchild that, from 0.5 s on and for 4 s, plants markers wherever a
# later test might look, prints to the stderr it inherited and SIGKILLs everything it can signal.
# "control": the same child, without the kills, and the program waits for it to plant: proof that
# the child does its work while it lives. "check": wait 1 s (a surviving child would be at work
# meanwhile), then look for the markers.
C_LEFTOVER = r"""
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *places[] = {"marker", "/tmp/marker", "/var/tmp/marker", "/dev/shm/marker",
                               "/run/lock/marker"};
#define NPLACES (sizeof places / sizeof places[0])

static void nap(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void plant(const char *path) {
  FILE *f = fopen(path, "w");
  if (f) { fputs("left by test 0\n", f); fclose(f); }
}

int main(void) {
  char what[32] = "";
  if (scanf("%31s", what) != 1) return 2;
  int control = strcmp(what, "control") == 0;
  if (control || strcmp(what, "spawn") == 0) {
    pid_t pid = fork();
    if (pid < 0) return 4;
    if (pid == 0) {
      setsid();
      if (fork() > 0) _exit(0); /* a grandchild, reparented away from the program */
      nap(500);
      for (int i = 0; i < 40; i++) {
        for (size_t p = 0; p < NPLACES; p++) plant(places[p]);
        glob_t g;
        if (glob("/home/*/jobs/*", 0, NULL, &g) == 0) {
          for (size_t k = 0; k < g.gl_pathc; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/marker", g.gl_pathv[k]);
            plant(path);
          }
          globfree(&g);
        }
        fprintf(stderr, "LEAK\n");
        if (!control) kill(-1, SIGKILL);
        nap(100);
      }
      _exit(0);
    }
    if (control) {
      for (int i = 0; i < 30 && access("/tmp/marker", F_OK) != 0; i++) nap(100);
      nap(200);
      printf("%s\n", access("marker", F_OK) == 0 && access("/tmp/marker", F_OK) == 0
                         ? "planted" : "not planted");
      return 0;
    }
    printf("fresh\n");
    return 0;
  }
  if (strcmp(what, "check") == 0) {
    nap(1000);
    int found = 0;
    for (size_t p = 0; p < NPLACES; p++) {
      if (access(places[p], F_OK) == 0) { printf("found %s\n", places[p]); found = 1; }
    }
    if (!found) printf("clean\n");
    return 0;
  }
  return 3;
}
"""


def case(stdin: str, expected: str) -> dict[str, Any]:
    return {"stdin": stdin, "expected_output": expected}


def reports_of(out: Outcome) -> list[dict[str, Any]]:
    return [e for e in out.events if e["type"] == "test"]


def shadow_state() -> tuple[int, ...]:
    st = os.lstat("/etc/shadow")
    return (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_nlink, st.st_mtime_ns)


def shadow_ctime() -> int:
    return os.lstat("/etc/shadow").st_ctime_ns


async def lingering(uids: set[int]) -> list[str]:
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    left = slot_processes(uids)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        left = slot_processes(uids)
    return left


def no_secret(out: Outcome) -> None:
    for report in reports_of(out):
        for stream in ("stdout", "stderr"):
            assert not SHADOW_ENTRY.search(report[stream]), (
                f"a shadow entry in test output {stream}"
            )


async def test_tampering_with_its_own_binary_does_not_reach_the_next_test(
    sandbox_stack: Stack,
) -> None:
    tests = []
    for attack in ATTACKS:
        tests += [case(attack, "original\n"), case("check", "original\nregular 700 same\n")]
    shadow, ctime = shadow_state(), shadow_ctime()
    out = await run(sandbox_stack, "c", C_TAMPER, tests=tests, timeout=60)
    reports = reports_of(out)
    assert [r["index"] for r in reports] == list(range(len(tests))), out.summary()
    for attack, report in zip(ATTACKS, reports[0::2], strict=True):
        # The attack happened (else this test would prove nothing) and its test still passed.
        assert report["stderr"] == f"{attack}: done -> {ATTACKS[attack]}\n", report
        assert report["status"] == "accepted", report
    for report in reports[1::2]:
        assert report["status"] == "accepted", report
        assert report["stdout"] == "original\nregular 700 same\n", report
    done = out.complete
    assert done["status"] == "accepted", out.summary()
    assert done["passed"] == done["total"] == len(tests)
    no_secret(out)
    # Nobody followed ./main -> /etc/shadow (a read would have shown above; a chown, chmod or
    # write moves its ctime).
    assert shadow_state() == shadow and shadow_ctime() == ctime


async def test_last_test_leaves_a_symlink_then_another_job_runs(
    sandbox_stack: Stack,
) -> None:
    """The last test leaves ./main a symlink to /etc/shadow: the job's clean-up removes the link
    (not its target), and the next job of the same slot compiles and runs as usual."""
    shadow, ctime = shadow_state(), shadow_ctime()
    tests = [case("check", "original\nregular 700 same\n"), case("symlink", "original\n")]
    out = await run(sandbox_stack, "c", C_TAMPER, tests=tests)
    assert out.status == "accepted", out.summary()
    again = await run(sandbox_stack, "c", C_TAMPER, tests=[tests[0]] * 2)
    assert again.status == "accepted", again.summary()
    assert shadow_state() == shadow and shadow_ctime() == ctime


async def test_background_process_does_not_reach_the_next_test(sandbox_stack: Stack) -> None:
    uids = {s.pw_uid for s in worker_slots(sandbox_stack.worker.proc.pid)}
    assert uids, "cannot tell which sandbox users the worker holds"
    tests = [case("control", "planted\n"), case("check", "clean\n")]
    tests += [case("spawn", "fresh\n"), case("check", "clean\n")]
    out = await run(sandbox_stack, "c", C_LEFTOVER, tests=tests, timeout=60)
    reports = reports_of(out)
    assert [r["status"] for r in reports] == ["accepted"] * 4, out.summary()
    assert reports[0]["stderr"].startswith("LEAK\n"), reports[0]  # the child works while alive
    spawned = reports[2]
    # The program's own output only, and its test ended with the program (a child holding
    # stdout and stderr open did not keep it waiting until the time limit).
    assert spawned["stdout"] == "fresh\n" and spawned["stderr"] == "", spawned
    assert spawned["execution_time"] < scaled(1.0), spawned
    for checked in (reports[1], reports[3]):
        # No marker, no LEAK, and not killed by a survivor's kill(-1, SIGKILL).
        assert checked["stdout"] == "clean\n" and checked["stderr"] == "", checked
        assert checked["signal"] is None and checked["exit_code"] == 0, checked
    assert out.status == "accepted" and out.complete["passed"] == 4
    assert await lingering(uids) == [], "a slot user's process outlived the job"


async def test_request_cannot_ship_its_own_program(sandbox_stack: Stack) -> None:
    """What each test runs is the compiler's output only: a file named like the program is
    refused, whatever its content."""
    files = [
        {"name": "main.c", "content": "int main(void) { return 0; }\n"},
        {"name": "main", "content": "#!/bin/sh\necho shipped\n"},
    ]
    out = await run(sandbox_stack, "c", None, files=files, tests=[case("", "shipped\n")])
    assert out.error["code"] == "invalid_filename", out.summary()
    assert reports_of(out) == []


async def test_compiler_output_that_is_not_a_program(sandbox_stack: Stack) -> None:
    """A source that compiles to nothing runnable is that test's runtime_error, never the
    worker's trouble: the copies are made from what the compiler wrote, as it is."""
    code = "int main;\n"  # a data object named main: links, and crashes when run
    out = await run(sandbox_stack, "c", code, tests=[case("", "")] * 2)
    reports = reports_of(out)
    assert [r["status"] for r in reports] == ["runtime_error"] * 2, out.summary()
    assert out.status == "runtime_error"
