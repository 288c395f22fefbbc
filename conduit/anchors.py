"""`python -m conduit.anchors`: the pack beside the IAM analysers teams already use, on the same policies.

Each row is a program of the pack's fixtures (tests/fixtures/policy_program) that holds one class
of risk, or one of AWS's own defaults that should stay clean. The pack judges the program as
`conduit check` does; cloudsplaining (its PolicyDocument verdicts) and parliament (with its
community auditors) judge every policy document the program writes, AWS-managed ones included
(their published documents). A class the anchors cannot see (resource policies, Lambda
permissions) shows as `-`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudsplaining.scan.policy_document import PolicyDocument
from parliament import analyze_policy_string

from conduit.check import evaluate
from conduit.run_record import RunRecord
from conduit.runner import OfflineRun, ProgramError, run_stacks
from conduit_policies.managed_policies import managed_document

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "policy_program"

# (fixture case, what it holds, risky?) One row per class; the clean rows are AWS's own defaults
# and narrowly scoped neighbours, which no tool should flag as a risk.
ROWS: list[tuple[str, str, bool]] = [
    ("escalation-passrole-named-admin", "PassRole on one named admin role + lambda create/invoke", True),
    ("escalation-own-policy-version", "iam:CreatePolicyVersion on the role's own policy", True),
    ("escalation-attach-own-role", "iam:AttachRolePolicy on its own role", True),
    ("escalation-put-own-role-policy", "iam:PutRolePolicy on its own role", True),
    ("escalation-access-keys", "iam:CreateAccessKey on user/*", True),
    ("escalation-split", "PassRole inline, CreateFunction/Invoke in an attached policy", True),
    ("escalation-managed", "IAMFullAccess attached (AWS-managed)", True),
    ("exposure-bucket-policy", "s3:PutBucketPolicy on *", True),
    ("exposure-every-function", "lambda:AddPermission on function:*", True),
    ("exposure-queue-permission", "sqs:AddPermission on *", True),
    ("exfiltration-every-secret", "secretsmanager:GetSecretValue on secret:*", True),
    ("exfiltration-managed", "SecretsManagerReadWrite attached (AWS-managed)", True),
    ("wildcard-in-arn", "a wildcard inside an ARN: every table of the account", True),
    ("not-action", "Allow with NotAction", True),
    ("public-queue-policy", "SQS queue policy with Principal *", True),
    ("public-condition-narrowing-nothing", "Principal * with a condition that narrows nothing", True),
    ("service-permission-without-source", "Lambda permission for a service, no source (confused deputy)", True),
    ("service-queue-policy-without-source", "queue policy for SNS, no aws:SourceArn (confused deputy)", True),
    ("console-basic-execution", "the console's basic execution policy", False),
    ("lambda-role", "AWSLambdaBasicExecutionRole attached", False),
    ("passrole-to-states-only", "PassRole limited by iam:PassedToService (its CreateFunction on * is "
     "still too broad)", False),
    ("own-access-key", "iam:CreateAccessKey on user/${aws:username}", False),
    ("exposure-one-function", "lambda:AddPermission on one function", False),
    ("exfiltration-one-secret", "GetSecretValue on one secret", False),
    ("org-queue-policy", "queue policy for Principal * limited by aws:PrincipalOrgID", False),
    ("service-queue-policy-with-source", "queue policy for SNS with aws:SourceArn", False),
]

IDENTITY = {"aws:iam/rolePolicy:RolePolicy": "policy", "aws:iam/policy:Policy": "policy",
            "aws:iam/userPolicy:UserPolicy": "policy", "aws:iam/groupPolicy:GroupPolicy": "policy"}
RESOURCE = {"aws:sqs/queuePolicy:QueuePolicy": "policy", "aws:s3/bucketPolicy:BucketPolicy": "policy",
            "aws:sns/topicPolicy:TopicPolicy": "policy"}
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
# cloudsplaining's risk categories (PolicyDocument properties) and parliament's risk findings;
# style findings (RESOURCE_STAR on actions AWS scopes to nothing, ...) are shown but are not risks.
CLOUDSPLAINING = {"allows_privilege_escalation": "privesc", "allows_data_exfiltration_actions": "exfil",
                  "permissions_management_without_constraints": "perms-mgmt",
                  "credentials_exposure": "credentials", "infrastructure_modification": "infra-mod"}
PARLIAMENT_RISKS = {"PRIVILEGE_ESCALATION", "PERMISSIONS_MANAGEMENT_ACTIONS", "CREDENTIALS_EXPOSURE",
                    "SENSITIVE_ACCESS", "RESOURCE_POLICY_PRIVILEGE_ESCALATION", "ADMIN_ACTIONS",
                    "NOTACTION_ALLOW"}


@dataclass(frozen=True)
class Row:
    case: str
    what: str
    risky: bool
    pack: list[str]
    cloudsplaining: list[str] | None
    parliament: list[str]

    @property
    def anchors_see_risk(self) -> bool:
        return bool(self.cloudsplaining) or bool(PARLIAMENT_RISKS & set(self.parliament))


def _documents(run: RunRecord) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The identity and resource policy documents a recorded program run writes."""
    identity, resource = [], []
    for r in run.resources:
        inputs = r.inputs
        if r.type in IDENTITY and isinstance(inputs.get(IDENTITY[r.type]), str):
            identity.append(json.loads(inputs[IDENTITY[r.type]]))
        if r.type == "aws:iam/role:Role":
            identity += [json.loads(p["policy"]) for p in inputs.get("inlinePolicies") or [] if p.get("policy")]
        if r.type == ATTACHMENT and (document := managed_document(str(inputs.get("policyArn")))):
            identity.append(document)
        if r.type in RESOURCE and isinstance(inputs.get(RESOURCE[r.type]), str):
            resource.append(json.loads(inputs[RESOURCE[r.type]]))
    return identity, resource


def _cloudsplaining(documents: list[dict[str, Any]]) -> list[str]:
    found = set()
    for document in documents:
        verdict = PolicyDocument(document)
        found |= {label for name, label in CLOUDSPLAINING.items() if getattr(verdict, name)}
    return sorted(found)


def _parliament(documents: list[dict[str, Any]]) -> list[str]:
    found = set()
    for document in documents:
        try:
            found |= {f.issue for f in analyze_policy_string(json.dumps(document),
                                                             include_community_auditors=True).findings}
        except Exception as error:  # an anchor that fails on a document says so in its column
            found.add(f"error: {type(error).__name__}")
    return sorted(found)


def _row(case: str, what: str, risky: bool, run: RunRecord) -> Row:
    pack = sorted({v.policy for v in evaluate(run, "policy-fixtures") if v.enforcement == "mandatory"})
    identity, resource = _documents(run)
    return Row(case, what, risky, pack, _cloudsplaining(identity) if identity else None,
               _parliament(identity + resource))


def compare(rows: list[tuple[str, str, bool]]) -> list[Row]:
    """Each row's fixture program run (in one batch: a child Python per CPU) and judged three ways."""
    with tempfile.TemporaryDirectory(prefix="conduit-anchors-") as scratch:
        runs = []
        for case, _, _ in rows:
            project = Path(scratch) / case / "fixture"
            shutil.copytree(FIXTURE, project)
            (project / "Pulumi.t.yaml").write_text(f"config:\n  policy-fixtures:case: {case}\n")
            runs.append(OfflineRun(project, "t"))
        results = run_stacks(runs, children=os.cpu_count() or 1)
    for result in results:
        if isinstance(result, ProgramError):
            raise result
    return [_row(*row, run) for row, run in zip(rows, results, strict=True)]  # type: ignore[arg-type]


def table(rows: list[Row]) -> str:
    lines = ["| case | risk | conduit pack (mandatory) | cloudsplaining | parliament |", "|---|---|---|---|---|"]
    for row in rows:
        cloud = "-" if row.cloudsplaining is None else (", ".join(row.cloudsplaining) or "clean")
        lines.append(f"| {row.what} | {'yes' if row.risky else 'no'} | {', '.join(row.pack) or 'clean'} | "
                     f"{cloud} | {', '.join(row.parliament) or 'clean'} |")
    caught = sum(1 for r in rows if r.risky and r.pack)
    anchors = sum(1 for r in rows if r.risky and r.anchors_see_risk)
    clean = sum(1 for r in rows if not r.risky and not r.pack)
    lines.append(f"\nrisky rows caught: pack {caught}, anchors {anchors} of {sum(r.risky for r in rows)}; "
                 f"clean rows left clean by the pack: {clean} of {sum(not r.risky for r in rows)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conduit.anchors", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = compare(ROWS)
    print(json.dumps([row.__dict__ for row in rows], indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
