"""Start ministack as strict as AWS where Conduit relies on it, with an audit of every role's calls.

ministack 1.5.33 (pinned exactly: these adjust its internals) is lenient in three places that
matter here, each measured:
- its API gateway checks only the access key id of a SigV4 request, not the signature: a wrong
  secret or a garbage signature is executed. API Gateway verifies the signature of every AWS_IAM
  route; so does this launcher, with ministack's own SigV4 primitives, answering 403 as API Gateway
  does: a credential scoped to execute-api in the API's region, a date in ISO 8601 basic format within
  five minutes, and the hash of the body that arrived (not the one a header claims).
- its MQTT listener lets TLS clients without a certificate connect, subscribe and publish. AWS
  IoT Core's mutual-TLS endpoint refuses them; so does the listener here (CERT_REQUIRED). What
  else AWS's broker enforces (message and topic limits, keep-alive, one subscription per filter) is
  in `broker_rules`; Lambda's 10 s init limit in `lambda_rules`.
- it authorizes SQS batch calls as actions no IAM policy can grant; they are mapped to AWS's.
- EventBridge targets, IoT rule actions and SNS subscriptions invoke a function once and forget it:
  no retry, no failure destination. On AWS all three invoke asynchronously, so Lambda retries a
  failed event twice and then sends it to the function's on-failure destination; here they go
  through ministack's own asynchronous path, which does both.
It also keeps no record of what IAM allowed: wrapping `enforce` lets the local cloud report, per
role, the permissions a run never used (least privilege shown by execution). That wrapper only
observes; the decision is ministack's.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import re
import ssl
import sys
import threading
from typing import Any

from conduit.local import broker_rules, faults, lambda_rules, ministack_seam
from conduit.local.emulator import REGION

# AWS authorizes SQS's batch operations with the action of the single operation; ministack
# checks an action named after the batch operation, which no IAM policy can grant.
AWS_AUTHORIZES_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def install_audit(path: str) -> None:
    lock = threading.Lock()
    log = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the emulator

    def audit(original: Any) -> Any:
        def audited(access_key_id: str, iam_action: str, service: str, region: str, resource_arn: str = "*",
                    service_context: dict[str, Any] | None = None) -> Any:
            iam_action = AWS_AUTHORIZES_AS.get(iam_action, iam_action)
            result = original(access_key_id, iam_action, service, region, resource_arn, service_context)
            try:
                arn = ministack_seam.principal_arn(access_key_id or "")
            except Exception:
                arn = ""
            if ":assumed-role/" in arn:
                entry = {"principal": arn, "action": iam_action, "resource": resource_arn, "allowed": result is None}
                enclosing = (service_context or {}).get("dynamodb:EnclosingOperation")
                if enclosing:  # an item of a transaction: DynamoDB bills it at twice a single write or read
                    entry["within"] = enclosing[0]
                with lock:
                    log.write(json.dumps(entry) + "\n")
            return result

        return audited

    ministack_seam.replace(*ministack_seam.IAM_ENFORCE, audit)


FORBIDDEN_SIGNATURE = json.dumps({"message": "The request signature we calculated does not match the signature you "
                                             "provided. Check your AWS Secret Access Key and signing method."}).encode()


def install_signature_check() -> None:
    """Verify the SigV4 signature of every request to an AWS_IAM route, as API Gateway does."""
    request: contextvars.ContextVar[tuple[str, bytes] | None] = contextvars.ContextVar("conduit_request",
                                                                                         default=None)

    def remember(handle: Any) -> Any:
        async def remembering(host: str, path: str, method: str, headers: dict, body: bytes, query_params: dict,
                              raw_path: str | None = None, raw_query_string: str | None = None) -> Any:
            token = request.set((raw_path if raw_path is not None else path, body or b""))
            try:
                return await handle(host, path, method, headers, body, query_params, raw_path=raw_path,
                                    raw_query_string=raw_query_string)
            finally:
                request.reset(token)

        return remembering

    def forbidden(message: str | None = None) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps({"message": message}).encode() if message else FORBIDDEN_SIGNATURE
        return 403, {"Content-Type": "application/json", "x-amzn-ErrorType": "InvalidSignatureException"}, body

    def verify(enforce: Any) -> Any:
        def verifying(api_id: str, stage: str, method: str, execute_path: str, headers: dict, query_params: dict,
                      iam_action: str = "execute-api:Invoke") -> Any:
            denied = enforce(api_id, stage, method, execute_path, headers, query_params, iam_action=iam_action)
            remembered = request.get()
            if denied or remembered is None or iam_action != "execute-api:Invoke":
                return denied
            if ministack_seam.authorization_type(api_id, stage, method, execute_path) != "AWS_IAM":
                return None
            lowered = {k.lower(): v for k, v in headers.items()}
            signature = ministack_seam.parse_signature(lowered)
            if isinstance(signature, tuple) or signature.region_set is not None:
                return forbidden()
            raw_path, body = remembered
            refusal = scope_refusal(signature, app_region(), body, lowered)
            if refusal:
                return forbidden(refusal)
            secret = ministack_seam.secret_key_of(signature.access_key_id, lowered.get("x-amz-security-token", ""))
            if secret is None:
                return forbidden()
            failure = ministack_seam.signature_failure(signature, secret, method, raw_path, query_params, lowered,
                                                       body)
            if failure and failure[0] in ("RequestTimeTooSkewed", "CredentialDateMismatch"):
                return forbidden(failure[1])
            return forbidden() if failure else None

        return verifying

    ministack_seam.replace(*ministack_seam.EXECUTE_API_REQUEST, remember)
    ministack_seam.replace(*ministack_seam.EXECUTE_API_AUTHORIZATION, verify)


def app_region() -> str:
    """The region the local cloud's APIs live in (a request's own scope says only what it claims)."""
    return os.environ.get("CONDUIT_REGION", REGION)


BASIC_DATE = re.compile(r"\d{8}T\d{6}Z")


def scope_refusal(signature: Any, region: str, body: bytes, headers: dict[str, str]) -> str | None:
    """What API Gateway says when a signature is scoped, dated or hashed wrongly (its own messages):
    the credential must be for execute-api in the API's region, the date in ISO 8601 basic format,
    and a payload hash the client declares must be the hash of the body that arrived."""
    if signature.service != "execute-api":
        return "Credential should be scoped to correct service: 'execute-api'. "
    if signature.region != region:
        return "Credential should be scoped to a valid region. "
    if not BASIC_DATE.fullmatch(signature.amz_date or ""):
        return (f"Date must be in ISO-8601 'basic format'. Got '{signature.amz_date}'. See "
                "http://en.wikipedia.org/wiki/ISO_8601")
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        return ("The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method.")
    return None


def require_device_certificates() -> None:
    """The MQTT listener refuses a TLS client that presents no certificate, as AWS IoT Core does."""
    def strictly(build: Any) -> Any:
        def strict() -> ssl.SSLContext:
            context = build()
            context.verify_mode = ssl.CERT_REQUIRED
            return context

        return strict

    ministack_seam.replace(*ministack_seam.MQTT_TLS_CONTEXT, strictly)


def deliver_asynchronously() -> None:
    """EventBridge, IoT rule and SNS deliveries to a function take Lambda's asynchronous path."""
    def asynchronously(func: dict | None, config: dict | None, name: str, event: Any, source: str) -> None:
        if not func or not config:
            print(f"{source} -> Lambda: function {name} not found", file=sys.stderr)
            return
        ministack_seam.invoke_asynchronously(func, config, event)

    def from_bus(arn: str, payload: Any) -> None:
        try:
            event = json.loads(payload)
        except (json.JSONDecodeError, TypeError):
            event = {"body": payload}
        asynchronously(*ministack_seam.function_by_reference(arn), event, "EventBridge")

    def from_rule(account_id: str, region: str, function_arn: str, event: Any) -> None:
        found = ministack_seam.function_in_scope(function_arn, account_id, region)
        asynchronously(*found, event, "IoT rule")

    def from_topic(endpoint: str, envelope: str, topic_arn: str, sub_arn: str, msg_id: str, raw_message: str,
                   message_attributes: dict) -> None:
        event = {"Records": [{"EventVersion": "1.0", "EventSubscriptionArn": sub_arn, "EventSource": "aws:sns",
                              "Sns": json.loads(envelope)}]}
        asynchronously(*ministack_seam.function_by_reference(endpoint), event, "SNS")

    ministack_seam.replace(*ministack_seam.BUS_TO_FUNCTION, lambda _: from_bus)
    ministack_seam.replace(*ministack_seam.RULE_TO_FUNCTION, lambda _: from_rule)
    ministack_seam.replace(*ministack_seam.TOPIC_TO_FUNCTION, lambda _: from_topic)


def main() -> None:
    audit = os.environ.get("CONDUIT_AUDIT_LOG")
    if audit:
        install_audit(audit)
    faults.install()
    lambda_rules.install()
    deliver_asynchronously()
    install_signature_check()
    require_device_certificates()
    broker_rules.install()
    sys.argv = ["ministack"]
    ministack_seam.run()


if __name__ == "__main__":
    main()
