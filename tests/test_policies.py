"""The policy pack through pulumi-policy's analyzer: a failing and a passing program per policy,
the project's own stacks clean, and `conduit check` on a program outside this repository."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conduit.check import evaluate
from conduit.project import copy_project
from conduit.run_record import RunRecord
from conduit.runner import Mode, OfflineRun, ProgramError, run_stack, run_stacks
from conduit_policies.pack import FIXES
from tests.conftest import REPO
from tests.program import declared

FIXTURE = Path(__file__).parent / "fixtures" / "policy_program"

# (case, policy, violated): each policy has at least one case that violates it and one that does not.
CASES = [
    ("wildcard-action", "iam-no-wildcard-actions", True),
    ("wildcard-several", "iam-no-wildcard-actions", True),
    ("wildcard-single", "iam-no-wildcard-actions", False),
    ("explicit-action", "iam-no-wildcard-actions", False),
    ("policy-document-wildcard", "iam-no-wildcard-actions", True),
    ("not-action", "iam-no-not-action-allow", True),
    ("explicit-action", "iam-no-not-action-allow", False),
    ("wildcard-resource", "iam-no-wildcard-resource", True),
    ("wildcard-resource-needed", "iam-no-wildcard-resource", False),
    ("misspelled-action", "iam-known-actions", True),
    ("unknown-service", "iam-known-actions", True),
    ("explicit-action", "iam-known-actions", False),
    ("admin-attachment", "iam-no-admin-managed-policies", True),
    ("basic-execution-attachment", "iam-no-admin-managed-policies", False),
    ("queue-without-dlq", "sqs-dead-letter-queue", True),
    ("queue-with-dlq", "sqs-dead-letter-queue", False),
    ("async-without-destination", "lambda-async-failure-destination", True),
    ("async-with-destination", "lambda-async-failure-destination", False),
    ("stream-unbounded", "stream-mapping-failure-handling", True),
    ("stream-bounded", "stream-mapping-failure-handling", False),
    ("event-target-bare", "eventbridge-target-dead-letter", True),
    ("event-target-safe", "eventbridge-target-dead-letter", False),
    ("subscription-bare", "sns-subscription-redrive", True),
    ("subscription-safe", "sns-subscription-redrive", False),
    ("rule-without-error-action", "iot-rule-error-action", True),
    ("rule-with-error-action", "iot-rule-error-action", False),
    ("device-iot-star", "iot-policy-overly-permissive", True),
    ("device-any-client", "iot-policy-overly-permissive", True),
    ("device-named", "iot-policy-overly-permissive", False),
    ("device-thing-scoped", "iot-policy-overly-permissive", False),
    ("fleet-template-broad", "iot-policy-overly-permissive", True),
    ("fleet-template-scoped", "iot-policy-overly-permissive", False),
    ("device-deny-mqtt-wildcard", "iot-policy-potential-misconfiguration", True),
    ("device-thing-scoped", "iot-policy-potential-misconfiguration", False),
    ("role-alias-broad", "iot-role-alias-overly-permissive", True),
    ("role-alias-scoped", "iot-role-alias-overly-permissive", False),
    ("cognito-guest-every-shadow", "iot-cognito-role-overly-permissive", True),
    ("cognito-guest-own-shadow", "iot-cognito-role-overly-permissive", False),
    ("certificate-shared", "iot-device-certificate-shared", True),
    ("certificate-per-thing", "iot-device-certificate-shared", False),
    ("device-named", "iot-logging-disabled", True),
    ("device-logged", "iot-logging-disabled", False),
    ("unencrypted-queue", "encryption-at-rest", True),
    ("queue-with-dlq", "encryption-at-rest", False),
    ("log-forever", "log-retention", True),
    ("log-retained", "log-retention", False),
    ("alarm-to-aws-managed-key", "service-delivery-key", True),
    ("alarm-to-default-key-policy", "service-delivery-key", True),
    ("alarm-to-key-without-cloudwatch", "service-delivery-key", True),
    ("s3-to-aws-managed-queue", "service-delivery-key", True),
    ("rule-dlq-aws-managed", "service-delivery-key", True),
    ("alarm-to-granted-key", "service-delivery-key", False),
    ("alarm-to-granted-key-alias", "service-delivery-key", False),
    ("queue-shorter-than-function", "sqs-visibility-covers-function-timeout", True),
    ("queue-six-times-function", "sqs-visibility-covers-function-timeout", False),
    ("notification-without-permission", "delivery-after-permission", True),
    ("notification-before-permission", "delivery-after-permission", True),
    ("rule-dlq-without-policy", "delivery-after-permission", True),
    ("subscription-without-queue-policy", "delivery-after-permission", True),
    ("notification-after-permission", "delivery-after-permission", False),
    ("subscription-after-queue-policy", "delivery-after-permission", False),
    ("s3-to-aws-managed-queue", "delivery-after-permission", False),
    ("names-refused", "physical-name-limits", True),
    ("names-accepted", "physical-name-limits", False),
    ("consumer-two-receives", "sqs-lambda-receive-count", True),
    ("consumer-five-receives", "sqs-lambda-receive-count", False),
    ("names-shared", "physical-names-unique", True),
    ("names-distinct", "physical-names-unique", False),
    ("describe-star", "iam-no-wildcard-resource", False),
    ("describe-star", "iam-no-wildcard-actions", True),
    ("logs-every-resource", "iam-no-wildcard-resource", False),
    ("logs-every-resource", "iam-logs-every-log-group", True),
    ("console-basic-execution", "iam-logs-every-log-group", False),
    ("basic-execution-attachment", "iam-logs-every-log-group-managed", True),
    ("lambda-role", "iam-logs-every-log-group-managed", False),
    ("admin-variant", "iam-no-admin-managed-policies", True),
    ("admin-govcloud", "iam-no-admin-managed-policies", True),
    ("admin-exclusive", "iam-no-admin-managed-policies", True),
    ("lambda-execute", "iam-broad-managed-policies", True),
    ("s3-read-only-role", "iam-broad-managed-policies", True),
    ("basic-execution-attachment", "iam-broad-managed-policies", False),
    ("lambda-role", "iam-broad-managed-policies", False),
    ("lambda-role", "iam-managed-policy-every-resource", True),
    ("xray-daemon", "iam-managed-policy-every-resource", False),
    ("passrole-escalation", "iam-no-privilege-escalation", False),  # CreateFunction alone runs nothing
    ("passrole-named", "iam-no-privilege-escalation", False),
    ("passrole-to-states-only", "iam-no-privilege-escalation", False),
    ("own-access-key", "iam-no-privilege-escalation", False),
    ("exposure-one-function", "iam-resource-exposure", False),
    ("exfiltration-one-secret", "iam-data-exfiltration", False),
    ("console-basic-execution", "iam-no-wildcard-resource", False),
    ("public-lambda-permission", "no-public-principal", True),
    ("public-trust", "no-public-principal", True),
    ("public-queue-policy", "no-public-principal", True),
    ("scoped-lambda-permission", "no-public-principal", False),
    ("org-queue-policy", "no-public-principal", False),
    ("public-condition-narrowing-nothing", "no-public-principal", True),
    ("website-unreviewed", "no-public-principal", True),
    ("website-reviewed-by-access-block", "no-public-principal", False),
    ("website-reviewed-by-access-block", "reviewed-exposure", True),
    ("website-reviewed-by-tag", "no-public-principal", False),
    ("website-reviewed-by-tag", "reviewed-exposure", True),
    ("website-unreviewed", "reviewed-exposure", False),
    ("service-permission-without-source", "service-principal-source", True),
    ("service-queue-policy-without-source", "service-principal-source", True),
    ("service-queue-policy-condition-if-exists", "service-principal-source", True),
    ("service-queue-policy-with-source", "service-principal-source", False),
    ("async-with-destination", "service-principal-source", False),
    ("queue-with-separate-redrive", "sqs-dead-letter-queue", False),
    ("schedule-without-dlq", "eventbridge-target-dead-letter", True),
    ("schedule-with-dlq", "eventbridge-target-dead-letter", False),
    ("event-target-bare", "eventbridge-target-retry-policy", True),
    ("event-target-safe", "eventbridge-target-retry-policy", False),
    ("runtime-deprecated", "lambda-deprecated-runtime", True),
    ("runtime-current", "lambda-deprecated-runtime", False),
    ("email-subscription-bare", "sns-subscription-redrive", True),
    ("email-subscription-redrive-unallowed", "sns-subscription-redrive", True),
    ("email-subscription-redrive", "sns-subscription-redrive", False),
    ("function-defaults", "lambda-default-memory", True),
    ("function-defaults", "lambda-default-timeout", True),
    ("function-defaults", "lambda-tracing", True),
    ("function-defaults", "lambda-log-retention", True),
    ("function-complete", "lambda-default-memory", False),
    ("function-complete", "lambda-default-timeout", False),
    ("function-complete", "lambda-tracing", False),
    ("function-complete", "lambda-log-retention", False),
    ("two-principals", "lambda-permission-multiple-principals", True),
    ("async-with-destination", "lambda-permission-multiple-principals", False),
    ("rest-stage-bare", "apigateway-stepfunctions-tracing", True),
    ("state-machine-bare", "apigateway-stepfunctions-tracing", True),
    ("http-stage-complete", "apigateway-stepfunctions-tracing", False),
    ("rest-stage-bare", "apigateway-access-logging", True),
    ("http-stage-complete", "apigateway-access-logging", False),
    ("rest-stage-text-logs", "apigateway-structured-logging", True),
    ("http-stage-complete", "apigateway-structured-logging", False),
    ("rest-stage-bare", "apigateway-throttling", True),
    ("http-stage-complete", "apigateway-throttling", False),
    ("target-role-trusts-lambda", "role-trusts-its-service", True),
    ("target-role-trusts-events", "role-trusts-its-service", False),
    ("state-machine-bare", "role-trusts-its-service", False),
    ("appsync-bare", "appsync-tracing", True),
    ("appsync-traced", "appsync-tracing", False),
    *[("deployable", policy, False) for policy in ("service-delivery-key", "sqs-visibility-covers-function-timeout",
                                                   "delivery-after-permission", "physical-name-limits",
                                                   "role-trusts-its-service")],
]


# (case, policy, URN of the resource the finding is reported on): every class of attack path, with
# the principal that holds it named.
ROLE_URN = "urn:pulumi:t::policy-fixtures::aws:iam/role:Role::"
ATTACK_PATHS = [
    ("escalation-passrole-named-admin", "iam-no-privilege-escalation", ROLE_URN + "worker"),
    ("escalation-own-policy-version", "iam-no-privilege-escalation", ROLE_URN + "worker"),
    ("escalation-attach-own-role", "iam-no-privilege-escalation", ROLE_URN + "worker"),
    ("escalation-put-own-role-policy", "iam-no-privilege-escalation", ROLE_URN + "worker"),
    ("escalation-access-keys", "iam-no-privilege-escalation", ROLE_URN + "worker"),
    ("escalation-split", "iam-no-privilege-escalation", ROLE_URN + "worker"),
    ("escalation-managed", "iam-no-privilege-escalation", ROLE_URN + "attached-role"),
    ("exposure-bucket-policy", "iam-resource-exposure", ROLE_URN + "worker"),
    ("exposure-every-function", "iam-resource-exposure", ROLE_URN + "worker"),
    ("exposure-queue-permission", "iam-resource-exposure", ROLE_URN + "worker"),
    ("exposure-every-function", "iam-no-wildcard-resource",
     "urn:pulumi:t::policy-fixtures::aws:iam/rolePolicy:RolePolicy::worker-policy"),
    ("exfiltration-every-secret", "iam-data-exfiltration", ROLE_URN + "worker"),
    ("exfiltration-managed", "iam-data-exfiltration", ROLE_URN + "attached-role"),
    ("exfiltration-managed", "iam-resource-exposure", ROLE_URN + "attached-role"),
    ("wildcard-in-arn", "iam-no-wildcard-resource",
     "urn:pulumi:t::policy-fixtures::aws:iam/rolePolicy:RolePolicy::worker-policy"),
]


def fixture_project(tmp_path: Path, case: str) -> Path:
    project = tmp_path / "fixture"
    shutil.copytree(FIXTURE, project)
    (project / "Pulumi.t.yaml").write_text(f"config:\n  policy-fixtures:case: {case}\n")
    return project


# Every fixture case a test here or in test_preview_consistency.py judges.
ALL_CASES = tuple(sorted({case for case, _, _ in CASES} | {case for case, _, _ in ATTACK_PATHS}))


@functools.cache
def _case_runs(mode: Mode, cases: tuple[str, ...]) -> dict[str, RunRecord]:
    """The fixture cases' program runs, made once per test session in one batch (a child Python per
    CPU, each running case after case: a child per case was most of this file's time)."""
    with tempfile.TemporaryDirectory() as folder:
        runs = [OfflineRun(fixture_project(Path(folder) / case, case), "t", mode) for case in cases]
        results = run_stacks(runs, children=os.cpu_count() or 1)
    failed = {case: str(result) for case, result in zip(cases, results, strict=True)
              if isinstance(result, ProgramError)}
    assert not failed, failed
    return dict(zip(cases, results, strict=True))  # type: ignore[arg-type]


def case_run(case: str, mode: Mode = Mode.PLAUSIBLE, cases: tuple[str, ...] = ALL_CASES) -> RunRecord:
    """A fixture case's program run (a copy: a test may change it), from the batch of `cases`."""
    return copy.deepcopy(_case_runs(mode, cases)[case])


@pytest.mark.parametrize(("case", "policy", "violated"), CASES, ids=[f"{c[1]}:{c[0]}" for c in CASES])
def test_policy_on_fixture_program(tmp_path, case, policy, violated):
    violations = evaluate(case_run(case), "policy-fixtures")
    found = [v for v in violations if v.policy == policy]
    assert bool(found) == violated, [(v.policy, v.message) for v in violations]
    for v in found:
        assert v.urn.startswith("urn:pulumi:t::policy-fixtures::"), v
        assert v.fix == FIXES[policy] and v.fix, v  # what to do about it travels with every finding


@pytest.mark.parametrize(("case", "policy", "urn"), ATTACK_PATHS, ids=[f"{c[1]}:{c[0]}" for c in ATTACK_PATHS])
def test_every_attack_path_is_caught_on_the_principal_that_holds_it(tmp_path, case, policy, urn):
    violations = evaluate(case_run(case), "policy-fixtures")
    found = [v for v in violations if v.policy == policy]
    assert found and {v.urn for v in found} == {urn}, [(v.policy, v.urn, v.message) for v in violations]
    assert all(v.enforcement == "mandatory" for v in found)


def test_every_policy_has_a_failing_and_a_passing_case():
    from conduit_policies.pack import POLICIES

    covered = {(policy, violated) for _, policy, violated in CASES} | {(p, True) for _, p, _ in ATTACK_PATHS}
    uncovered = [p.name for p in POLICIES if not {(p.name, True), (p.name, False)} <= covered]
    # Stack-level advisories over S3 are checked against this project's own buckets below.
    assert set(uncovered) <= {"s3-encryption-at-rest", "s3-tls-only", "prod-point-in-time-recovery"}, uncovered


def stack_policy_config(stack: str) -> dict:
    """The stack's pack configuration: what it accepts, and why (policies/config/<stack>.json)."""
    return json.loads((REPO / "policies" / "config" / f"{stack}.json").read_text())


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_project_stacks_have_no_violations(stack):
    config = stack_policy_config(stack)
    violations = evaluate(declared(stack), "conduit", config)  # the run the other tests of the stack read
    assert violations == [], violations
    for policy, settings in config.items():
        reason = settings.get("reason", "") if isinstance(settings, dict) else ""
        assert len(reason) > 20, f"{policy}: accepted without a reason"


def test_an_advisory_rule_can_be_made_mandatory_or_turned_off(tmp_path):
    document = case_run("function-defaults")
    levels = {v.enforcement for v in evaluate(document, "policy-fixtures") if v.policy == "lambda-tracing"}
    assert levels == {"advisory"}
    stricter = evaluate(document, "policy-fixtures", {"lambda-tracing": "mandatory"})
    assert {v.enforcement for v in stricter if v.policy == "lambda-tracing"} == {"mandatory"}
    off = evaluate(document, "policy-fixtures", {"lambda-tracing": {"enforcementLevel": "disabled", "reason": "x"}})
    assert not [v for v in off if v.policy == "lambda-tracing"]


def test_advisories_fire_on_a_bucket_without_tls_or_encryption_and_a_table_without_recovery(tmp_path):
    project = tmp_path / "bare"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: bare\nruntime: python\n")
    (project / "Pulumi.prod.yaml").write_text("config: {}\n")
    (project / "__main__.py").write_text(
        "import pulumi_aws as aws\naws.s3.Bucket('b')\n"
        "aws.dynamodb.Table('t', hash_key='k', attributes=[{'name': 'k', 'type': 'S'}],\n"
        "                   billing_mode='PAY_PER_REQUEST')\n")
    violations = {(v.policy, v.enforcement) for v in evaluate(run_stack(project, "prod"), "bare")}
    assert {("s3-tls-only", "advisory"), ("s3-encryption-at-rest", "advisory"),
            ("prod-point-in-time-recovery", "advisory")} <= violations


def conduit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conduit.main", *args], capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_conduit_check_passes_the_project_stacks(stack):
    result = conduit("check", "--stack", stack, "--policy-config", f"policies/config/{stack}.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no policy violations" in result.stdout


def test_conduit_check_fails_an_outside_program_naming_the_resource(tmp_path):
    result = conduit("check", "--stack", "t", "--project-dir", str(fixture_project(tmp_path, "queue-without-dlq")),
                     "--json")
    assert result.returncode == 1, result.stderr
    [violation] = [v for v in json.loads(result.stdout)["violations"] if v["policy"] == "sqs-dead-letter-queue"]
    assert violation["enforcement"] == "mandatory"
    assert violation["urn"] == "urn:pulumi:t::policy-fixtures::aws:sqs/queue:Queue::work"
    assert "queue 'work' has no redrivePolicy" in violation["message"]


def test_enforcement_is_configurable(tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"sqs-dead-letter-queue": "advisory",
                                  "log-retention": {"enforcementLevel": "disabled"}}))
    project = fixture_project(tmp_path, "queue-without-dlq")
    result = conduit("check", "--stack", "t", "--project-dir", str(project), "--policy-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sqs-dead-letter-queue (advisory): 1 violation(s)" in result.stdout
    config.write_text(json.dumps({"no-such-policy": "advisory"}))
    result = conduit("check", "--stack", "t", "--project-dir", str(project), "--policy-config", str(config))
    assert result.returncode == 2 and "not in the pack" in result.stderr


def test_a_copy_of_the_project_with_a_wildcard_action_fails(tmp_path):
    project = tmp_path / "project"
    copy_project(REPO, project)
    component = project / "infra" / "message_ingest.py"
    component.write_text(component.read_text().replace('Statement(["dynamodb:PutItem"], [self.table.arn])',
                                                       'Statement(["dynamodb:*"], [self.table.arn])'))
    result = subprocess.run([sys.executable, "-m", "conduit.main", "check", "--stack", "dev", "--project-dir",
                             str(project)], capture_output=True, text=True, cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "iam-no-wildcard-actions (mandatory)" in result.stdout
    assert "message-ingest-store-permissions" in result.stdout


def test_a_describe_wildcard_is_reported_once_not_by_two_rules(tmp_path):
    violations = evaluate(case_run("describe-star"), "policy-fixtures")
    assert [v.policy for v in violations if v.policy.startswith("iam-")] == ["iam-no-wildcard-actions"]


def test_allow_lists_in_the_pack_config_accept_what_an_organization_chose(tmp_path):
    config = {"iam-no-admin-managed-policies": {
        "allowedManagedPolicies": ["arn:aws:iam::aws:policy/AdministratorAccess-Amplify"]}}
    violations = evaluate(case_run("admin-variant"), "policy-fixtures", config)
    assert not [v for v in violations if v.policy == "iam-no-admin-managed-policies"]


def test_each_refused_name_is_named_with_the_rule_it_breaks(tmp_path):
    violations = evaluate(case_run("names-refused"), "policy-fixtures")
    messages = "\n".join(v.message for v in violations if v.policy == "physical-name-limits")
    assert "'conduit-dev-archive' contains '-'; IoT topic rule names allow only [A-Za-z0-9_]" in messages
    assert "'Conduit_Dev_Files' contains 'CDF_'" in messages
    assert "'orders' must end in .fifo exactly when the queue is FIFO" in messages
    assert "'/aws/lambda/conduit dev fn' contains ' '" in messages
    assert "is 65 characters long; IAM role names are 1 to 64" in messages


def test_the_program_fits_every_name_even_for_an_awkward_stack_name(tmp_path):
    """A long stack name with characters some types refuse: every physical name still passes."""
    project = tmp_path / "project"
    copy_project(REPO, project, "tests")
    stack = "Team_Alpha.Staging-Environment-For-Long-Names-2026"
    shutil.copy(REPO / "Pulumi.dev.yaml", project / f"Pulumi.{stack}.yaml")
    document = run_stack(project, stack)
    names = [v for v in evaluate(document, "conduit") if v.policy == "physical-name-limits"]
    assert names == []
    rules = [r.inputs["name"] for r in document.resources if r.type == "aws:iot/topicRule:TopicRule"]
    assert rules and all(re.fullmatch(r"[A-Za-z0-9_]+", n) for n in rules), rules
    buckets = [r.inputs["bucket"] for r in document.resources if r.type == "aws:s3/bucket:Bucket"]
    assert buckets and all(re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", b) for b in buckets), buckets
