"""Every Redis key and stream name, spelled once.

{p}:queue                 stream of job specs; consumer group `workers`
{p}:job:{id}:events       stream of server messages for one job (read from id 0)
{p}:job:{id}:input        stream of input/eof/kill for one job (read from id 0)
{p}:job:{id}              the job's record: the API key id that started it (expires with events)
{p}:job:{id}:started      set by the worker just before the job's first stage (user code) runs;
                          holds that worker's id
{p}:job:{id}:ended        set (NX) by whoever publishes the job's terminal event, in the same
                          script as the XADD: a job ends exactly once, whoever sees it end
{p}:job:{id}:attached     a lease kept alive by the gateway while a client is connected
{p}:job:{id}:result       the finished job's result (JSON, lib.results), written in the same
                          script as its terminal event; kept RESULT_TTL_S
{p}:job:{id}:judge0       a Judge0 submission as it was sent (services/websocket/judge0.py)
{p}:jti:{jti}             a job token's single use, claimed with SET NX EX
{p}:worker:{id}           a live worker's heartbeat (JSON, expires)
{p}:stats:jobs            hash: finished jobs, field `{language}|{status}` → count (lib.metrics)
{p}:stats:queue_wait      hash: queue-wait histogram, fields `|{le}`, `|sum`, `|count`
{p}:stats:exec_time       hash: execution-time histogram, fields `{language}|{le}`, `…|sum`, …
{p}:stats:tests           hash: judged test cases, field `{language}|{verdict}` → count
{p}:stats:compiles        hash: compile stages run, field `{language}` → count
{p}:rate:{key}:{minute}   jobs created by one API key in one minute (INCR, expires)
{p}:running:{key}         jobs of one API key admitted and not finished (sorted set, score =
                          the time by which the job must have ended)
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

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def attached(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:attached"

    def started(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:started"

    def ended(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:ended"

    def result(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:result"

    def judge0(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:judge0"

    def token_use(self, jti: str) -> str:
        return f"{self.prefix}:jti:{jti}"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"

    def rate(self, key_id: str, minute: int) -> str:
        return f"{self.prefix}:rate:{key_id}:{minute}"

    def running(self, key_id: str) -> str:
        return f"{self.prefix}:running:{key_id}"

    @property
    def worker_pattern(self) -> str:
        return f"{self.prefix}:worker:*"

    @property
    def stats_jobs(self) -> str:
        return f"{self.prefix}:stats:jobs"

    @property
    def stats_queue_wait(self) -> str:
        return f"{self.prefix}:stats:queue_wait"

    @property
    def stats_exec_time(self) -> str:
        return f"{self.prefix}:stats:exec_time"

    @property
    def stats_tests(self) -> str:
        return f"{self.prefix}:stats:tests"

    @property
    def stats_compiles(self) -> str:
        return f"{self.prefix}:stats:compiles"
