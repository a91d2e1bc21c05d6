"""A tiny interactive client: creates a job, runs a file, relays your terminal to the program.

    python examples/client.py hello.py                 # language from the file's suffix
    python examples/client.py main.c --language c --stdin "3 4"

Environment: CEXEC_URL (default http://127.0.0.1:8000), CEXEC_API_KEY (default dev-key).
Lines you type go to the program's stdin; Ctrl-D sends `eof`; Ctrl-C sends `kill`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import websockets

SUFFIXES = {".py": "python", ".js": "javascript", ".c": "c", ".cpp": "cpp", ".rs": "rust"}


async def stdin_lines(ws: websockets.ClientConnection) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            await ws.send(json.dumps({"type": "eof"}))
            return
        await ws.send(json.dumps({"type": "input", "data": line}))


async def run(args: argparse.Namespace) -> int:
    base = os.environ.get("CEXEC_URL", "http://127.0.0.1:8000")
    key = os.environ.get("CEXEC_API_KEY", "dev-key")
    source = Path(args.file)
    language = args.language or SUFFIXES.get(source.suffix, "python")
    code = source.read_text()  # noqa: ASYNC240 - one small file before any I/O starts
    async with httpx.AsyncClient(base_url=base) as http:
        created = (
            (await http.post("/api/jobs/create", headers={"X-API-Key": key}))
            .raise_for_status()
            .json()
        )
    execute = {
        "type": "execute",
        "job_id": created["job_id"],
        "job_token": created["job_token"],
        "language": language,
        "code": code,
        "filename": source.name,
    }
    if args.stdin is not None:
        execute["stdin"] = args.stdin
    async with websockets.connect(base.replace("http", "ws", 1) + "/ws/execute") as ws:
        await ws.send(json.dumps(execute))
        typing = asyncio.create_task(stdin_lines(ws)) if sys.stdin.isatty() else None
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "output":
                    out = sys.stderr if msg["stream"] != "stdout" else sys.stdout
                    out.write(msg["data"])
                    out.flush()
                else:
                    print(f"\n[{json.dumps(msg)}]", file=sys.stderr)
        except KeyboardInterrupt:
            await ws.send(json.dumps({"type": "kill"}))
        finally:
            if typing:
                typing.cancel()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file")
    parser.add_argument("--language")
    parser.add_argument("--stdin")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
