"""The fail-closed check of the sandbox self-test: what it accepts and what it refuses."""

from __future__ import annotations

from services.worker.selftest import check_probe

WORKER_NET = "net:[4026531833]"
GOOD = (
    "Name:\tcat\nUid:\t1001\t1001\t1001\t1001\nCapEff:\t0000000000000000\n"
    "NoNewPrivs:\t1\nSeccomp:\t2\nnet=net:[4026532181]\n"
)


def test_a_real_sandbox_passes() -> None:
    assert check_probe(GOOD, worker_uid=0, worker_net=WORKER_NET) == []


def test_no_seccomp_fails() -> None:
    problems = check_probe(GOOD.replace("Seccomp:\t2", "Seccomp:\t0"), 0, WORKER_NET)
    assert any("Seccomp" in p for p in problems)


def test_new_privileges_fail() -> None:
    assert check_probe(GOOD.replace("NoNewPrivs:\t1", "NoNewPrivs:\t0"), 0, WORKER_NET)


def test_capabilities_fail() -> None:
    assert check_probe(GOOD.replace("0000000000000000", "000001ffffffffff"), 0, WORKER_NET)


def test_root_or_the_workers_uid_fails() -> None:
    assert check_probe(GOOD.replace("1001\t1001\t1001\t1001", "0\t0\t0\t0"), 0, WORKER_NET)
    assert check_probe(GOOD, worker_uid=1001, worker_net=WORKER_NET)


def test_the_workers_network_namespace_fails() -> None:
    assert check_probe(GOOD.replace("4026532181", "4026531833"), 0, WORKER_NET)


def test_no_output_fails_on_every_count() -> None:
    assert len(check_probe("", 0, WORKER_NET)) >= 5
