"""Start ministack with an audit of every call made by an IAM role, and AWS's action names.

ministack enforces IAM (`AUTH=true`) but keeps no record of what it allowed. Wrapping its
`enforce` lets the local cloud report, per role, the permissions a run never used: least
privilege shown by execution. The wrapper only observes; the decision is ministack's.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

# AWS authorizes SQS's batch operations with the action of the single operation; ministack
# checks an action named after the batch operation, which no IAM policy can grant.
AWS_AUTHORIZES_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def install_audit(path: str) -> None:
    from ministack.core import iam_evaluator
    from ministack.core.responses import get_account_id

    original = iam_evaluator.enforce
    lock = threading.Lock()
    log = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the emulator

    def audited(access_key_id: str, iam_action: str, service: str, region: str, resource_arn: str = "*",
                service_context: dict[str, Any] | None = None) -> Any:
        iam_action = AWS_AUTHORIZES_AS.get(iam_action, iam_action)
        result = original(access_key_id, iam_action, service, region, resource_arn, service_context)
        try:
            principal = iam_evaluator.resolve_principal(access_key_id or "", get_account_id())
            arn = getattr(principal, "arn", "") or ""
        except Exception:
            arn = ""
        if ":assumed-role/" in arn:
            entry = {"principal": arn, "action": iam_action, "resource": resource_arn, "allowed": result is None}
            with lock:
                log.write(json.dumps(entry) + "\n")
        return result

    iam_evaluator.enforce = audited


def main() -> None:
    audit = os.environ.get("CONDUIT_AUDIT_LOG")
    if audit:
        install_audit(audit)
    from ministack.app import main as ministack_main

    sys.argv = ["ministack"]
    ministack_main()


if __name__ == "__main__":
    main()
