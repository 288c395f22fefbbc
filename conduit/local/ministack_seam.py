"""Every name inside ministack 1.5.33 (pinned exactly in pyproject.toml) the local cloud reads, calls
or replaces, in one place: the launcher, the broker rules, the Lambda rules and the fault injection
go through these functions only, and `tests/test_ministack_seam.py` holds each name (with the
parameters it is called or replaced with) to the pinned version, so an upgrade fails there by name.

ministack is imported inside each function: it runs in the emulator's own process (`launcher.main`),
and the parent process that only starts it (or only previews) never pays for importing it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Wrap = Callable[[Any], Any]  # the original callable -> what stands in its place


def replace(module: str, path: str, wrap: Wrap) -> None:
    """Put `wrap(original)` in place of `module.path` (a function, or `Class.method`)."""
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    setattr(owner, name, wrap(getattr(owner, name)))


# What the local cloud replaces, each (module, path), all named in the contract test.
IAM_ENFORCE = ("ministack.core.iam_evaluator", "enforce")
EXECUTE_API_REQUEST = ("ministack.app", "_handle_execute_api_request")
EXECUTE_API_AUTHORIZATION = ("ministack.app", "_enforce_execute_api")
MQTT_TLS_CONTEXT = ("ministack.services.iot", "_mtls_build_ssl_context")
MQTT_CONNECTION = ("ministack.services.iot", "_mtls_handle_conn")
MQTT_PACKET = ("ministack.services.iot", "_WSSession._dispatch_packet")
MQTT_SUBSCRIBE = ("ministack.services.iot", "broker_subscribe")
BUS_TO_FUNCTION = ("ministack.services.eventbridge", "_dispatch_to_lambda")
RULE_TO_FUNCTION = ("ministack.services.iot", "_dispatch_rule_to_lambda")
TOPIC_TO_FUNCTION = ("ministack.services.sns", "_deliver_to_lambda")
EXECUTE_FUNCTION = ("ministack.services.lambda_svc", "_execute_function")
WORKER_INVOKE = ("ministack.core.lambda_runtime", "Worker.invoke")


def run() -> None:
    """ministack's own entry point, in this process."""
    from ministack.app import main

    main()


# --- IAM and API Gateway ---------------------------------------------------------------------------

def principal_arn(access_key_id: str) -> str:
    """The ARN of the principal an access key belongs to ("" when ministack knows none)."""
    from ministack.core import iam_evaluator
    from ministack.core.responses import get_account_id

    return getattr(iam_evaluator.resolve_principal(access_key_id, get_account_id()), "arn", "") or ""


def secret_key_of(access_key_id: str, session_token: str) -> str | None:
    """The secret of an access key (None: no such credential)."""
    from ministack.core.iam_evaluator import CredentialResolutionError, resolve_credential
    from ministack.core.responses import get_account_id

    credential = resolve_credential(access_key_id, get_account_id(), session_token)
    return None if isinstance(credential, CredentialResolutionError) else credential.secret_access_key


def authorization_type(api_id: str, stage: str, method: str, execute_path: str) -> str:
    from ministack import app

    return app._execute_api_authorization_type(api_id, stage, method, execute_path)


def parse_signature(headers: dict[str, str]) -> Any:
    """A SigV4 Authorization header parsed (a tuple: ministack's refusal of it)."""
    from ministack.core import sigv4

    return sigv4.parse_header_signature(headers)


def signature_failure(signature: Any, secret: str, method: str, path: str, query: dict, headers: dict[str, str],
                      body: bytes) -> tuple[str, str] | None:
    """Why a parsed signature fails (its date, then its value), or None."""
    from ministack.core import sigv4

    return sigv4.request_time_failure(signature) or sigv4.header_signature_failure(
        signature, secret, method, path, query, headers, body)


# --- Lambda --------------------------------------------------------------------------------------

def invoke_asynchronously(func: dict, config: dict, event: Any) -> None:
    """Lambda's asynchronous path: retried twice, then the function's on-failure destination."""
    from ministack.services import lambda_svc

    lambda_svc.invoke_async_with_retry(lambda_svc._execution_record_for_config(func, config), event)


def function_by_reference(reference: str) -> tuple[dict | None, dict | None, str]:
    """(the function's record, its configuration, its name) for an ARN or name (None, None: none)."""
    from ministack.services import lambda_svc

    return lambda_svc._get_func_record_for_ref(reference)


def function_in_scope(reference: str, account_id: str, region: str) -> tuple[dict | None, dict | None, str]:
    from ministack.services import lambda_svc

    return lambda_svc._get_func_record_for_ref_in_scope(reference, account_id=account_id, region=region)


def concurrency_cap() -> int:
    from ministack.services import lambda_svc

    return lambda_svc._ACCOUNT_CONCURRENCY_CAP


def cap_concurrency_by_memory(share: float, worker_bytes: int, floor: int) -> int:
    """Bound the account's concurrency by what `share` of the memory budget holds in workers."""
    from ministack.services import lambda_svc

    room = int(lambda_svc._memory_budget_bytes() * share / worker_bytes)
    lambda_svc._ACCOUNT_CONCURRENCY_CAP = max(floor, min(lambda_svc._AWS_DEFAULT_ACCOUNT_CONCURRENCY, room))
    return lambda_svc._ACCOUNT_CONCURRENCY_CAP


def worker_spawn() -> Callable[[Any], Any]:
    """A worker's start (its process and the handler's init)."""
    from ministack.core import lambda_runtime

    return lambda_runtime.Worker._spawn


def worker_process(worker: Any) -> Any:
    """The worker's process (a `subprocess.Popen`; None before its start or after it died)."""
    return worker._proc


def forget_worker_process(worker: Any) -> None:
    """The next invoke starts the worker again."""
    worker._proc = None


def worker_running(worker: Any) -> bool:
    process = worker_process(worker)
    return process is not None and process.poll() is None


def worker_lock(worker: Any) -> Any:
    return worker._lock


# --- The MQTT broker ----------------------------------------------------------------------------

def mqtt_constants() -> dict[str, int]:
    """Packet types and the protocol level of MQTT 5, as the broker numbers them."""
    from ministack.services import iot

    return {"PUBLISH": iot.PKT_PUBLISH, "CONNECT": iot.PKT_CONNECT, "SUBSCRIBE": iot.PKT_SUBSCRIBE,
            "MQTT_5": iot.MQTT_5, "RETAIN_HANDLING_SEND_NEVER": iot.RETAIN_HANDLING_SEND_NEVER}


def read_string(body: bytes, offset: int) -> tuple[str, int]:
    from ministack.services import iot

    return iot._read_string(body, offset)


def skip_properties(body: bytes, offset: int) -> int:
    """The offset past an MQTT 5 property block."""
    from ministack.services import iot

    return iot._decode_properties(body, offset)[1]


def connack(code: int, protocol_version: int | None = None) -> bytes:
    from ministack.services import iot

    return (iot._make_connack(return_code=code) if protocol_version is None
            else iot._make_connack(return_code=code, protocol_version=protocol_version))


def disconnect_packet(code: int) -> bytes:
    from ministack.services import iot

    return iot._make_disconnect(code)


def certificate_status(certificate_id: str | None) -> str | None:
    """The status of a certificate the broker holds (None: none, or unknown)."""
    from ministack.services import iot

    record = iot._certificates.get(certificate_id) if certificate_id else None
    return record.get("status") if isinstance(record, dict) else None


async def unsubscribe(subscription_id: str) -> None:
    from ministack.services import iot

    await iot.broker_unsubscribe(subscription_id)


def held_subscriptions(session: Any) -> dict[str, str]:
    """A session's subscriptions: id -> topic filter."""
    return session._sub_filters


def forget_subscription(session: Any, subscription_id: str) -> None:
    session._sub_filters.pop(subscription_id, None)
    session._sub_granted_qos.pop(subscription_id, None)
    if subscription_id in session._sub_ids:
        session._sub_ids.remove(subscription_id)


def client_id(session: Any) -> str:
    return session._client_id


def session_ended(session: Any) -> bool:
    return session._cleaned_up


def mark_disconnected(session: Any, reason: str) -> None:
    """The reason the broker gives for the disconnect (a last will says it)."""
    session._forced_disconnect_reason = reason


async def close_websocket(session: Any) -> None:
    await session._send({"type": "websocket.close", "code": 1000})
