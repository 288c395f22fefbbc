"""Lambda's init phase on the local cloud, as AWS times it: apart from the invocation's timeout, limited
to 10 s, and when past that retried once at the invocation with the function's timeout as its limit."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conduit.local import emulator as emulator_module
from conduit.local import lambda_rules

pytestmark = pytest.mark.local_cloud

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

# Works at import (the init phase: CPU time, as a heavy import does) as long as INIT_SECONDS says;
# with ONLY_ONCE set, only the first init of all works (a marker file remembers it), so a retried
# init is fast.
MODULE = '''
import os, time
marker = os.environ.get("ONLY_ONCE")
if not (marker and os.path.exists(marker)):
    if marker:
        open(marker, "w").close()
    until = time.process_time() + float(os.environ["INIT_SECONDS"])
    while time.process_time() < until:
        pass

def handler(event, context):
    return {"remainingMs": context.get_remaining_time_in_millis()}
'''


@pytest.fixture(scope="module")
def lambda_service(tmp_path_factory) -> Iterator[Any]:
    state_dir = tmp_path_factory.mktemp("lambda-init")
    emulator = emulator_module.start(state_dir)
    try:
        role = emulator.client("iam").create_role(RoleName="init-test", AssumeRolePolicyDocument=json.dumps(TRUST))
        client = emulator.client("lambda")
        client.role_arn = role["Role"]["Arn"]
        client.state_dir = state_dir
        yield client
    finally:
        emulator_module.stop(state_dir)


def function(service: Any, init_seconds: float, timeout: int, only_once: bool = False) -> str:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("slow_init.py", MODULE)
    name = f"init-{uuid.uuid4().hex[:8]}"
    variables = {"INIT_SECONDS": str(init_seconds)}
    if only_once:
        variables["ONLY_ONCE"] = str(Path(service.state_dir) / f"{name}.initialised")
    service.create_function(FunctionName=name, Runtime="python3.13", Role=service.role_arn,
                            Handler="slow_init.handler", Code={"ZipFile": archive.getvalue()}, Timeout=timeout,
                            Environment={"Variables": variables})
    return name


def invoke(service: Any, name: str) -> tuple[dict[str, Any], str | None]:
    answer = service.invoke(FunctionName=name, Payload=b"{}")
    return json.loads(answer["Payload"].read()), answer.get("FunctionError")


def test_an_init_longer_than_the_timeout_but_within_10_s_does_not_count_against_the_invocation(lambda_service):
    payload, error = invoke(lambda_service, function(lambda_service, init_seconds=3, timeout=1))
    assert error is None, payload
    assert 0 < payload["remainingMs"] <= 1000


def test_an_init_past_10_s_is_retried_once_with_the_functions_timeout(lambda_service):
    payload, error = invoke(lambda_service, function(lambda_service, init_seconds=11, timeout=3, only_once=True))
    assert error is None, payload
    log = (Path(lambda_service.state_dir) / "emulator.log").read_text()
    limit = lambda_rules.INIT_LIMIT_SECONDS
    assert f"init not done within {limit:.0f} s; retried with the function's 3 s timeout" in log


def test_an_init_that_overruns_its_retry_fails_as_a_timeout(lambda_service):
    payload, error = invoke(lambda_service, function(lambda_service, init_seconds=11, timeout=2))
    assert error == "Unhandled"
    assert payload == {"errorMessage": "Task timed out after 2.00 seconds", "errorType": "Sandbox.Timedout"}


@pytest.mark.parametrize(("memory_gib", "bound"), [(8, 64), (1, 16), (2048, 1000)])
def test_workers_are_bounded_by_what_the_machine_can_hold(monkeypatch, memory_gib, bound):
    """Half the memory at 64 MiB per worker, at least 16, at most AWS's default account concurrency."""
    from ministack.services import lambda_svc

    monkeypatch.delenv("LAMBDA_ACCOUNT_CONCURRENCY", raising=False)
    monkeypatch.setattr(lambda_svc, "_memory_budget_bytes", lambda: memory_gib * 1024 ** 3)
    monkeypatch.setattr(lambda_svc, "_ACCOUNT_CONCURRENCY_CAP", lambda_svc._ACCOUNT_CONCURRENCY_CAP)
    assert lambda_rules.bound_workers() == bound == lambda_svc._ACCOUNT_CONCURRENCY_CAP


def test_the_emulator_says_how_many_workers_it_allows(lambda_service):
    log = (Path(lambda_service.state_dir) / "emulator.log").read_text()
    assert "Lambda (conduit): at most " in log


def test_an_inits_own_time_is_its_cpu_time_read_from_the_kernel():
    """A busy 2-core machine makes inits wait for a CPU, a fresh one for cold files: neither is the
    init's own time."""
    import os
    import time

    until = time.process_time() + 0.3
    while time.process_time() < until:
        pass
    assert lambda_rules.cpu_seconds(os.getpid()) >= 0.3
    assert lambda_rules.cpu_seconds(2**22 + 1) == 0.0  # no such process
