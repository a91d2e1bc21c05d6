"""Every Redis key and stream name, spelled once.

{p}:queue                 stream of job specs; consumer group `workers`
{p}:job:{id}:events       stream of server messages for one job (read from id 0)
{p}:job:{id}:input        stream of input/eof/kill for one job (read from id 0)
{p}:job:{id}:started      set by the worker just before the job's first stage (user code) runs
{p}:jti:{jti}             a job token's single use, claimed with SET NX EX
{p}:worker:{id}           a live worker's heartbeat (JSON, expires)
"""

from __future__ import annotations

from dataclasses import dataclass

WORKER_GROUP = "workers"
FIELD = "m"  # the single field of every stream entry: a JSON message


@dataclass(frozen=True)
class Keys:
    prefix: str = "cexec"

    @property
    def queue(self) -> str:
        return f"{self.prefix}:queue"

    def events(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:events"

    def input(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:input"

    def started(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:started"

    def token_use(self, jti: str) -> str:
        return f"{self.prefix}:jti:{jti}"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"

    @property
    def worker_pattern(self) -> str:
        return f"{self.prefix}:worker:*"
