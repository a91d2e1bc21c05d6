"""`python -m services.worker`: run a worker until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from lib.config import load_settings
from lib.errors import ExecError
from lib.logs import setup_logging
from lib.store import connect
from services.worker.selftest import run_self_test
from services.worker.stage import own_namespaces
from services.worker.worker import Worker, prepare_runtime

log = logging.getLogger("services.worker")


async def main() -> int:
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    try:
        runtime, slot_list, _locks = prepare_runtime(settings)
        await run_self_test(runtime.sandbox, slot_list[0], own_namespaces()[1])
        log.info("sandbox self-test passed (seccomp, no_new_privs, no capabilities, own netns)")
    except ExecError as exc:
        log.error("cannot start: %s", exc)
        return 2
    redis = connect(settings.redis_url)
    worker = Worker(settings, redis, runtime, slot_list)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        await redis.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
