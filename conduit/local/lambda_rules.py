"""Lambda's init phase as AWS limits it, added to ministack's Python workers.

Written against ministack 1.5.33 (through `ministack_seam`: its workers' invoke). ministack already
runs a worker's init (importing the handler's module, building its clients) before the invocation's
timeout starts, as Lambda does, but without a limit. AWS: "The Init phase is limited to 10 seconds.
If all three tasks do not complete within 10 seconds, Lambda retries the Init phase at the time of
the first function invocation with the configured function timeout" (Lambda execution environment
lifecycle). So here: an init still running after 10 s is killed and run again with the function's
timeout as its limit; past that the invocation fails as a timeout does (`Sandbox.Timedout`). The
10 s are the init's own CPU time (the kernel's `/proc/<pid>/schedstat`): here wall time also holds
the wait for two cores shared by every environment and the reading of cold files on a fresh
machine, which AWS's per-environment sandboxes do not, and a wall-time limit failed inits on a
fresh clone that AWS would finish in a second. So an init that sleeps or waits on the network is
not bounded here (docs/local-cloud.md says so).
One leniency stays: after a retried init the handler still gets its whole timeout, where AWS
counts the retried init inside it.

Workers: each concurrent invocation of a function gets its own worker process, as each gets its own
execution environment on AWS; ministack bounds them only by an account concurrency sized at 21 MiB
per execution, while a Conduit worker (Powertools, pydantic, boto3) holds about 64 MiB. So the
bound here is half the machine's memory at 64 MiB per worker (at least 16, at most AWS's default
1,000; `LAMBDA_ACCOUNT_CONCURRENCY` still overrides); past it an invocation is throttled as AWS
throttles (TooManyRequestsException), and the services retry it as they do on AWS.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from conduit.local import ministack_seam

INIT_LIMIT_SECONDS = 10.0
WORKER_MIB = 64


def cpu_seconds(pid: int) -> float:
    """Seconds a process has run on a CPU (0 when unknown)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _init_within(spawn: Any, worker: Any, limit: float) -> bool:
    """Run the worker's init; False (the process killed) when its CPU time passes `limit`."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            spawn(worker)
        except BaseException as error:  # handed back to the invoking thread
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True, name=f"init-{worker.func_name}")
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
        process = ministack_seam.worker_process(worker)
        if process is not None and process.poll() is None and cpu_seconds(process.pid) > limit:
            break
    if thread.is_alive():
        process = ministack_seam.worker_process(worker)
        if process is not None:
            process.kill()
        thread.join(5)
        ministack_seam.forget_worker_process(worker)
        return False
    if failure:
        raise failure[0]
    return True


def bound_workers() -> int:
    """The account concurrency this machine can hold in workers (0: unbounded, when asked for)."""
    if os.environ.get("LAMBDA_ACCOUNT_CONCURRENCY", "").strip():
        return ministack_seam.concurrency_cap()
    return ministack_seam.cap_concurrency_by_memory(0.5, WORKER_MIB * 1024 * 1024, 16)


def install() -> None:
    print(f"Lambda (conduit): at most {bound_workers()} executions at once, one worker each", file=sys.stderr)
    spawn = ministack_seam.worker_spawn()

    def bounding_the_init(invoke: Any) -> Any:
        def invoke_after_a_bounded_init(worker: Any, event: Any, request_id: str, **rest: Any) -> dict:
            if ministack_seam.worker_running(worker):
                return invoke(worker, event, request_id, **rest)
            started = time.monotonic()
            with ministack_seam.worker_lock(worker):
                ready = _init_within(spawn, worker, INIT_LIMIT_SECONDS)
                timeout = float(worker.config.get("Timeout", 3))
                if not ready:
                    print(f"Lambda {worker.func_name}: init not done within {INIT_LIMIT_SECONDS:.0f} s; "
                          f"retried with the function's {timeout:g} s timeout", file=sys.stderr)
                    ready = _init_within(spawn, worker, timeout)
                if not ready:
                    return {"status": "error", "error": f"Task timed out after {timeout:.2f} seconds",
                            "cold_start": True, "log": f"INIT_REPORT Init Duration: "
                            f"{(time.monotonic() - started) * 1000:.2f} ms Phase: invoke Status: timeout"}
            response = invoke(worker, event, request_id, **rest)
            response["cold_start"] = True
            return response

        return invoke_after_a_bounded_init

    ministack_seam.replace(*ministack_seam.WORKER_INVOKE, bounding_the_init)
