"""The local cloud's seam to ministack's internals (conduit/local/ministack_seam.py, the one module that
imports ministack): every private name the launcher, the broker rules, the Lambda rules and the fault
injection reach through it, with the parameters they are called with. An upgrade of ministack that
moves one fails here, by name, instead of somewhere in an end-to-end run."""

from __future__ import annotations

import ast
import importlib
import inspect
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import REPO

SEAM_MODULES = ("conduit/local/ministack_seam.py",)

# (module, attribute path, parameters it is called or replaced with; None: a constant or a class)
USED = [
    ("ministack.app", "_enforce_execute_api",
     ["api_id", "stage", "method", "execute_path", "headers", "query_params", "iam_action"]),
    ("ministack.app", "_execute_api_authorization_type", ["api_id", "stage", "method", "execute_path"]),
    ("ministack.app", "_handle_execute_api_request", None),
    ("ministack.core.iam_evaluator", "enforce",
     ["access_key_id", "iam_action", "service", "region", "resource_arn", "service_context"]),
    ("ministack.core.iam_evaluator", "resolve_principal", None),
    ("ministack.core.iam_evaluator", "resolve_credential", None),
    ("ministack.core.iam_evaluator", "CredentialResolutionError", None),
    ("ministack.core.sigv4", "parse_header_signature", None),
    ("ministack.core.sigv4", "request_time_failure", None),
    ("ministack.core.sigv4", "header_signature_failure", None),
    ("ministack.core.lambda_runtime", "Worker.invoke", ["self", "event", "request_id"]),
    ("ministack.core.lambda_runtime", "Worker._spawn", ["self"]),
    ("ministack.services.eventbridge", "_dispatch_to_lambda", ["arn", "payload"]),
    ("ministack.services.sns", "_deliver_to_lambda",
     ["endpoint", "envelope", "topic_arn", "sub_arn", "msg_id", "raw_message", "message_attributes"]),
    ("ministack.services.iot", "_dispatch_rule_to_lambda", ["account_id", "region", "function_arn", "event"]),
    ("ministack.services.iot", "_WSSession._dispatch_packet", ["self", "pkt_type", "flags", "body"]),
    ("ministack.services.iot", "_mtls_handle_conn", ["reader", "writer"]),
    ("ministack.services.iot", "_mtls_build_ssl_context", []),
    ("ministack.services.iot", "broker_unsubscribe", ["subscription_id"]),
    ("ministack.services.iot", "broker_subscribe",
     ["account_id", "region", "topic_filter", "callback", "granted_qos", "client_id", "retain_as_published",
      "retain_handling"]),
    ("ministack.services.iot", "RETAIN_HANDLING_SEND_NEVER", None),
    ("ministack.services.iot", "_read_string", None),
    ("ministack.services.iot", "_certificates", None),
    ("ministack.services.iot", "_decode_properties", None),
    ("ministack.services.iot", "_make_connack", None),
    ("ministack.services.iot", "_make_disconnect", None),
    ("ministack.services.iot", "PKT_CONNECT", None),
    ("ministack.services.iot", "PKT_PUBLISH", None),
    ("ministack.services.iot", "PKT_SUBSCRIBE", None),
    ("ministack.services.iot", "MQTT_5", None),
    ("ministack.services.lambda_svc", "invoke_async_with_retry", None),
    ("ministack.services.lambda_svc", "_execution_record_for_config", None),
    ("ministack.services.lambda_svc", "_get_func_record_for_ref", None),
    ("ministack.services.lambda_svc", "_get_func_record_for_ref_in_scope", None),
    ("ministack.services.lambda_svc", "_execute_function", None),
    ("ministack.services.lambda_svc", "_ACCOUNT_CONCURRENCY_CAP", None),
    ("ministack.services.lambda_svc", "_AWS_DEFAULT_ACCOUNT_CONCURRENCY", None),
    ("ministack.services.lambda_svc", "_memory_budget_bytes", []),
]

# What a session object must carry for the broker rules (set by ministack's _WSSession.__init__).
WORKER_ATTRIBUTES = ("_proc", "_lock", "func_name", "config")
SESSION_ATTRIBUTES = ("certificate_id", "_sub_filters", "_sub_granted_qos", "_sub_ids", "_cleaned_up", "_client_id",
                      "_forced_disconnect_reason", "_send", "protocol_version")


def test_the_seam_is_written_against_the_pinned_ministack():
    pinned = next(line.split("==")[1].strip('",\n ') for line in (REPO / "pyproject.toml").read_text().splitlines()
                  if '"ministack==' in line)
    assert version("ministack") == pinned
    for module in SEAM_MODULES:
        assert f"ministack {pinned}" in (REPO / module).read_text(), f"{module} names the version it was measured on"


@pytest.mark.parametrize(("module", "path", "parameters"), USED, ids=[f"{m}.{p}" for m, p, _ in USED])
def test_each_private_the_local_cloud_uses_is_there(module, path, parameters):
    found = importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(found, part), f"ministack moved {module}.{path}: revisit {', '.join(SEAM_MODULES)}"
        found = getattr(found, part)
    if parameters is not None:
        assert list(inspect.signature(found).parameters)[:len(parameters)] == parameters


def test_a_session_carries_what_the_broker_rules_read():
    from ministack.services import iot

    async def send(_message: dict) -> None:
        return None

    session = iot._WSSession(send, "000000000000", "us-east-1")
    missing = [name for name in SESSION_ATTRIBUTES if not hasattr(session, name)]
    assert not missing


def test_every_ministack_private_used_is_listed_and_used_only_in_the_seam():
    listed = {(module.rsplit(".", 1)[-1], path.split(".")[0]) for module, path, _ in USED}
    for source in (REPO / "conduit").rglob("*.py"):
        tree = ast.parse(source.read_text())
        aliases = {alias.asname or alias.name: f"{node.module}.{alias.name}"
                   for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ministack")
                   for alias in node.names}
        if str(source.relative_to(REPO)) not in SEAM_MODULES:
            assert not aliases, f"{source.relative_to(REPO)} imports ministack: keep its internals in {SEAM_MODULES}"
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_")):
                owner = aliases[node.value.id].rsplit(".", 1)[-1]
                assert (owner, node.attr) in listed, f"{Path(source).name} uses {owner}.{node.attr}: list it here"


def test_a_worker_carries_what_the_init_limit_reads():
    from ministack.core import lambda_runtime

    worker = lambda_runtime.Worker("f", {"Runtime": "python3.12", "Timeout": 3}, b"")
    assert not [name for name in WORKER_ATTRIBUTES if not hasattr(worker, name)]


def test_every_name_the_seam_replaces_is_there_and_listed():
    from conduit.local import ministack_seam

    hooks = {name: value for name, value in vars(ministack_seam).items()
             if isinstance(value, tuple) and len(value) == 2 and str(value[0]).startswith("ministack.")}
    assert len(hooks) >= 12
    listed = {(module, path) for module, path, _ in USED}
    for name, (module, path) in hooks.items():
        assert (module, path) in listed, f"ministack_seam.{name} replaces {module}.{path}: list it in USED"
        found = importlib.import_module(module)
        for part in path.split("."):
            found = getattr(found, part)
        assert callable(found), name


def test_a_replacement_wraps_the_original_in_place():
    from conduit.local import ministack_seam

    module, path = ministack_seam.WORKER_INVOKE
    owner = importlib.import_module(module).Worker
    original = owner.invoke
    try:
        ministack_seam.replace(module, path, lambda invoke: ("wrapped", invoke))
        assert owner.invoke == ("wrapped", original)
    finally:
        owner.invoke = original
