"""End to end on the local cloud: the `local` stack deployed onto ministack with IAM enforced.

The same program and handler archives that `pulumi up` deploys; a handler calling AWS beyond
its role fails here as it would on AWS.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shlex
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conduit.firmware import read_manifest
from conduit.flash import FlashError, flash, micropython
from conduit.local import emulator as emulator_module
from conduit.local.deployment import LocalDeployment, deploy
from conduit.local.permissions import report, unused_permissions
from conduit.local.scenarios import SCENARIOS
from conduit.local.scenarios.message_ingest import MessageIngestFlow
from conduit.local.traffic import call_api, csv_file, observe_topic, received, wait_until
from conduit.local.usage import load_profile, measure_profile, stale_flows
from conduit.project import load_project, load_stack
from conduit.replay import replay
from infra.aws_connection import connection_from_config
from infra.device_certificate import DeviceCertificateProvider
from tests.board import board
from tests.conftest import EVENTS, REPO, s3_event

pytestmark = pytest.mark.local_cloud


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> LocalDeployment:
    state_dir = tmp_path_factory.mktemp("local-cloud")
    try:
        yield deploy("local", REPO, state_dir)
    finally:
        emulator_module.stop(state_dir)


@pytest.fixture(scope="module")
def local_cloud(deployment):
    return deployment.record, deployment.emulator


@pytest.fixture(scope="module")
def ingest(local_cloud) -> MessageIngestFlow:
    record, emulator = local_cloud
    return MessageIngestFlow(emulator, record["outputs"]["messageIngest"])


def stored_on(flow: MessageIngestFlow, date: str) -> int:
    return flow.dynamodb.query(TableName=flow.outputs["table"], KeyConditionExpression="#d = :d",
                               ExpressionAttributeNames={"#d": "date"},
                               ExpressionAttributeValues={":d": {"S": date}}, Select="COUNT")["Count"]


def test_every_declared_resource_was_created(local_cloud):
    record, _ = local_cloud
    custom = [r for r in record["resources"] if r["custom"]]
    assert len(custom) > 30
    assert all(r["id"] for r in custom), [r["urn"] for r in custom if not r["id"]]
    assert record["outputs"]["messageIngest"]["apiUrl"].startswith("https://127.0.0.1:")


def _conduit(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conduit.main", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "CONDUIT_LOCAL_DIR": str(state)})


def test_local_env_exports_alone_let_boto3_reach_the_local_stack(local_cloud, tmp_path):
    record, _ = local_cloud
    result = _conduit("local", "env", "--stack", "local", state=state_dir(record))
    assert result.returncode == 0, result.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    assert set(exports) >= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                            "AWS_CA_BUNDLE"}
    script = "import boto3, json; print(json.dumps([b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']]))"
    # A clean environment: nothing but the exports (and where Python lives) tells boto3 where to go.
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **{k: shlex.split(v)[0] for k, v in exports.items()}}
    listed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=clean)
    assert listed.returncode == 0, listed.stderr
    assert record["outputs"]["messageIngest"]["bucket"] in json.loads(listed.stdout)


def test_local_env_json_names_endpoint_mqtt_and_masked_outputs(local_cloud):
    record, emulator = local_cloud
    result = _conduit("local", "env", "--stack", "local", "--json", state=state_dir(record))
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)
    assert env["endpoint"] == emulator.endpoint and env["region"] == emulator.region
    assert env["mqtt"] == {"host": "127.0.0.1", "port": emulator.mqtt_port, "serverName": "localhost",
                           "caUrl": f"{emulator.endpoint}/_ministack/iot/ca.pem"}
    assert env["caBundle"] == emulator.tls_cert and env["credentials"]["accessKeyId"]
    assert env["outputs"]["catFeeder"]["devices"]["kitchen"]["privateKey"] == "[secret]"
    assert env["outputs"]["catFeeder"]["devices"]["kitchen"]["certificatePem"].startswith("[certificate, ")
    status = _conduit("local", "status", "--stack", "local", state=state_dir(record))
    assert "BEGIN RSA PRIVATE KEY" not in status.stdout and "BEGIN CERTIFICATE" not in status.stdout
    shown = _conduit("local", "status", "--stack", "local", "--show-secrets", state=state_dir(record))
    assert "PRIVATE KEY" in shown.stdout and "BEGIN CERTIFICATE" in shown.stdout
    assert env["outputs"]["messageIngest"] == record["outputs"]["messageIngest"]
    missing = _conduit("local", "env", "--stack", "staging", state=state_dir(record))
    assert missing.returncode == 2 and "conduit local up --stack staging" in missing.stderr


def test_the_local_stacks_aws_settings_put_device_certificates_into_the_emulator(local_cloud):
    """Under the real CLI the certificate provider follows Pulumi.local.yaml's aws:* settings, as the AWS
    provider does; here they are read the same way and pointed at this emulator's port."""
    _, emulator = local_cloud
    stack = load_stack(load_project(REPO), "local")
    values = {k.removeprefix("aws:"): v for k, v in stack.values.items() if k.startswith("aws:")}
    values["endpoints"] = values["endpoints"].replace("https://127.0.0.1:4566", emulator.endpoint)
    values["customCaBundle"] = emulator.tls_cert
    connection = connection_from_config(values, REPO)
    assert connection["endpoints"]["iot"] == emulator.endpoint and connection["accessKey"] == "test"
    created = DeviceCertificateProvider().create({"thingName": "conduit-local-feeder-spare", "rotation": "1",
                                                  "region": values["region"], "connection": connection})
    description = emulator.client("iot").describe_certificate(certificateId=created.id)["certificateDescription"]
    assert description["status"] == "ACTIVE"
    DeviceCertificateProvider().delete(created.id, created.outs)


def test_csv_rows_are_stored_or_quarantined_and_nothing_is_lost(ingest):
    ingest.drop_csv("e2e/generated.csv", csv_file(20, first_timestamp=1262304000))  # 2010-01-01
    ingest.drop_csv("e2e/mixed.csv", (EVENTS / "readings_mixed.csv").read_bytes())  # 2019-05-28
    sent = 20 + 5

    def stored() -> int:
        return stored_on(ingest, "2010-01-01") + stored_on(ingest, "2019-05-28")

    wait_until(lambda: stored() >= 22, 30, "22 stored readings")
    quarantined = wait_until(lambda: ingest.quarantine("e2e/mixed.csv"), 10, "the quarantine report")["rejected"]
    assert ingest.quarantine("e2e/generated.csv") is None
    assert [r["line"] for r in quarantined] == [4, 6, 7]
    assert "remote_avg" in quarantined[0]["reason"] and "timestamp" in quarantined[0]["reason"]
    assert sent == stored() + len(quarantined) + ingest.dead_lettered()


def test_a_file_longer_than_an_invocations_rows_is_read_whole_by_continuations(ingest):
    """The local stack reads 400 rows per invocation (conduit:messageIngest.rowsPerInvocation): a file
    of 1,000 rows is three invocations, each handing the rest on by invoking the function itself."""
    lines = csv_file(1000, first_timestamp=1325376000).splitlines(keepends=True)  # 2012-01-01
    lines[601] = b"1325376000.6,bad,row\n"  # line 602: in the second invocation's share
    ingest.drop_csv("e2e/long.csv", b"".join(lines))
    wait_until(lambda: stored_on(ingest, "2012-01-01") == 999, 90, "999 readings stored")
    s3, bucket = ingest.s3, ingest.outputs["bucket"]
    later = wait_until(lambda: _object(s3, bucket, "quarantine/e2e/long.csv.rejected.402.json"), 30,
                       "the second invocation's quarantine report")
    assert [r["line"] for r in json.loads(later)["rejected"]] == [602]
    assert json.loads(later)["fromLine"] == 402 and json.loads(later)["sent"] == 399
    assert ingest.quarantine("e2e/long.csv") is None, "the first invocation rejected nothing"


def test_poison_message_reaches_the_dlq_and_its_batch_mates_are_stored(ingest):
    good = [json.dumps({"reading": {"timestamp": 946684800 + n, "location": "e2e", "source": "s", "local_dest": "a",
                                    "local_avg": 1, "remote_dest": "b", "remote_avg": 2},
                        "origin": {"bucket": "b", "key": "k", "line": n}}) for n in range(3)]
    entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate([*good, '{"reading": "poison"}'])]
    ingest.sqs.send_message_batch(QueueUrl=ingest.outputs["queueUrl"], Entries=entries)
    wait_until(lambda: stored_on(ingest, "2000-01-01") == 3, 30, "the poison's batch-mates to be stored")
    wait_until(lambda: ingest.dead_lettered() == 1, 150, "the poison message in the DLQ", interval=0.5)
    dead = ingest.sqs.receive_message(QueueUrl=ingest.outputs["deadLetterQueueUrl"])["Messages"]
    assert [m["Body"] for m in dead] == ['{"reading": "poison"}']


def test_duplicates_are_written_once_and_a_conflicting_reading_is_quarantined_with_both(ingest):
    header = "timestamp,location,source,local_dest,local_avg,remote_dest,remote_avg\n"
    first = "1293840000.5,dup,wired,r,1.5,d,2.5\n"  # 2011-01-01
    ingest.drop_csv("e2e/dup-a.csv", (header + first + first).encode())
    wait_until(lambda: stored_on(ingest, "2011-01-01") == 1, 30, "the reading stored")
    ingest.drop_csv("e2e/dup-b.csv", (header + first.replace("2.5\n", "7.25\n")).encode())
    s3, bucket = ingest.s3, ingest.outputs["bucket"]
    conflict = wait_until(lambda: _object(s3, bucket, "quarantine/conflicts/e2e/dup-b.csv/line-2.json"), 30,
                          "the conflict quarantined")
    document = json.loads(conflict)
    assert document["stored"]["remote_avg"] == "2.5" and document["rejected"]["remote_avg"] == "7.25"
    assert _object(s3, bucket, "quarantine/conflicts/e2e/dup-a.csv/line-3.json") is None, \
        "an identical duplicate is a redelivery, not a conflict"
    assert stored_on(ingest, "2011-01-01") == 1


def test_local_logs_show_a_functions_lines_and_name_the_functions_there_are(ingest, local_cloud):
    record, _ = local_cloud
    result = _conduit("local", "logs", "--stack", "local", "message-ingest-store", state=state_dir(record))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("REPORT RequestId:" in line for line in lines), result.stdout[-2000:]
    assert all(re.match(r"\d\d:\d\d:\d\d\.\d{3}  message-ingest-store  ", line) for line in lines)
    every = _conduit("local", "logs", "--stack", "local", state=state_dir(record))
    assert {"message-ingest-ingest", "message-ingest-store"} <= {line.split()[1] for line in every.stdout.splitlines()}
    unknown = _conduit("local", "logs", "--stack", "local", "no-such-function", state=state_dir(record))
    assert unknown.returncode == 2 and "it has cat-feeder-" in unknown.stderr and "cat-feeder-click" in unknown.stderr


def test_api_answers_signed_callers_and_refuses_unsigned_ones(ingest):
    reading = {"timestamp": 978307200.5, "location": "e2e-api", "source": "s", "local_dest": "a", "local_avg": 1.25,
               "remote_dest": "b", "remote_avg": 2}
    assert ingest.api("GET", "/message", signed=False).status == 403
    created = ingest.api("POST", "/message", reading)
    assert created.status == 201, created
    item = f"/message/{created.body['date']}?time={created.body['time']}"
    assert ingest.api("GET", item).body["local_avg"] == 1.25
    change = {"source": "s", "local_dest": "a", "local_avg": 3, "remote_dest": "b", "remote_avg": 4}
    assert ingest.api("PUT", item, change).status == 204
    assert ingest.api("GET", f"/message/{created.body['date']}").body["items"][0]["local_avg"] == 3
    assert ingest.api("GET", "/message?limit=1").status == 200
    assert ingest.api("POST", "/message", b"[not json").status == 400
    assert ingest.api("DELETE", item).status == 204
    assert ingest.api("DELETE", item).status == 404


def _signed_headers(emulator, url: str, method: str = "GET", body: bytes | None = None,
                    secret: str = "test", service: str = "execute-api", region: str | None = None,
                    minutes_ago: float = 0, headers: dict[str, str] | None = None) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers={"content-type": "application/json",
                                                                     **(headers or {})})
    signed_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=minutes_ago)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        SigV4Auth(Credentials("test", secret), service, region or emulator.region).add_auth(request)
    return dict(request.headers)


def _answer(emulator, url: str, headers: dict[str, str], method: str = "GET", body: bytes | None = None
            ) -> tuple[int, str, str]:
    context = ssl.create_default_context(cafile=emulator.tls_cert)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers=headers),
                                    context=context, timeout=30) as response:
            return response.status, "", ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("x-amzn-ErrorType", ""), json.loads(error.read() or b"{}").get(
            "message", "")


SCOPE_REFUSALS = [
    (dict(service="s3"), "Credential should be scoped to correct service: 'execute-api'"),
    (dict(service="iam"), "Credential should be scoped to correct service: 'execute-api'"),
    (dict(region="us-east-1"), "Credential should be scoped to a valid region"),
    (dict(minutes_ago=10), "Signature expired"),
    (dict(minutes_ago=6), "Signature expired"),
    (dict(minutes_ago=-6), "Signature not yet current"),
    (dict(service="s3", minutes_ago=10), "Credential should be scoped to correct service"),
]


@pytest.mark.parametrize(("signing", "message"), SCOPE_REFUSALS, ids=[str(s[0]) for s in SCOPE_REFUSALS])
def test_a_signature_scoped_or_dated_wrongly_is_refused_as_api_gateway_refuses_it(local_cloud, signing, message):
    record, emulator = local_cloud
    url = record["outputs"]["currencyStream"]["apiUrl"] + "currency"
    status, error_type, said = _answer(emulator, url, _signed_headers(emulator, url, **signing))
    assert (status, error_type) == (403, "InvalidSignatureException") and message in said, said


@pytest.mark.parametrize("date", ["1999-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "20260101t000000z",
                                  "20260101T000000", "Thu, 01 Jan 2026 00:00:00 GMT"])
def test_a_date_not_in_iso_8601_basic_format_never_passes(local_cloud, date):
    record, emulator = local_cloud
    url = record["outputs"]["currencyStream"]["apiUrl"] + "currency"
    headers = {**_signed_headers(emulator, url), "X-Amz-Date": date}
    status, _, said = _answer(emulator, url, headers)
    assert status == 403 and ("ISO-8601 'basic format'" in said or "signature" in said.lower()), said


def test_the_hash_signed_is_the_hash_of_the_body_that_arrived(local_cloud):
    record, emulator = local_cloud
    url = record["outputs"]["currencyStream"]["apiUrl"] + "currency"
    signed_body = json.dumps({"symbol": "EUR", "rate": 1}).encode()
    declared = {"x-amz-content-sha256": hashlib.sha256(signed_body).hexdigest()}
    headers = _signed_headers(emulator, url, "POST", signed_body, headers=declared)
    swapped = json.dumps({"symbol": "EUR", "rate": 999}).encode()
    assert _answer(emulator, url, headers, "POST", swapped)[0] == 403
    assert _answer(emulator, url, headers, "POST", signed_body)[0] < 300, "the body as signed still passes"


@pytest.mark.parametrize("minutes_ago", [0, 4, -4])
def test_the_neighbours_of_each_refusal_still_pass(local_cloud, minutes_ago):
    record, emulator = local_cloud
    url = record["outputs"]["currencyStream"]["apiUrl"] + "currency"
    assert _answer(emulator, url, _signed_headers(emulator, url, minutes_ago=minutes_ago))[0] == 200


def _send(emulator, url: str, headers: dict[str, str], method: str = "GET", body: bytes | None = None) -> int:
    context = ssl.create_default_context(cafile=emulator.tls_cert)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers=headers),
                                    context=context, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_every_api_refuses_wrong_secrets_garbage_signatures_and_tampered_requests(local_cloud):
    """API Gateway verifies SigV4 signatures; the local cloud does too (ministack alone does not)."""
    record, emulator = local_cloud
    outputs = record["outputs"]
    urls = [outputs["messageIngest"]["apiUrl"] + "message?limit=1",
            outputs["uploadExtraction"]["apiUrl"] + "search?q=report",
            outputs["currencyStream"]["apiUrl"] + "currency"]
    for url in urls:
        good = _signed_headers(emulator, url)
        assert _send(emulator, url, good) == 200, url
        assert _send(emulator, url, _signed_headers(emulator, url, secret="not-the-secret")) == 403, url
        zero = re.sub(r"Signature=[0-9a-f]+", "Signature=" + "0" * 64, good["Authorization"])
        assert _send(emulator, url, {**good, "Authorization": zero}) == 403, url
        assert _send(emulator, url, {**good, "Authorization": "AWS4-HMAC-SHA256 garbage"}) == 403, url
        assert _send(emulator, url, {**good, "X-Amz-Date": "20200101T000000Z"}) == 403, url
        changed = url + ("&" if "?" in url else "?") + "extra=1"
        assert _send(emulator, changed, good) == 403, f"{url}: a query changed after signing"
    click = outputs["catFeeder"]["apiUrl"] + "click"
    body = json.dumps({"feeder": "kitchen", "clickType": "SINGLE"}).encode()
    signed = _signed_headers(emulator, click, "POST", body)
    tampered = json.dumps({"feeder": "hallway", "clickType": "LONG!"}).encode()
    assert _send(emulator, click, signed, "POST", tampered) == 403, "a body changed after signing"


def test_the_mqtt_broker_refuses_a_client_without_a_certificate(local_cloud):
    _, emulator = local_cloud
    context = ssl.create_default_context(cadata=emulator.mqtt_ca().decode())
    connect = bytes([0x10, 0x12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 6]) + b"intrud"
    with socket.create_connection(("127.0.0.1", emulator.mqtt_port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(connect)
                answer = tls.recv(4)
        except (ssl.SSLError, ConnectionError):
            answer = b""
    assert answer == b"", f"a client with no certificate got {answer!r} (a CONNACK) instead of being refused"


def test_removing_a_needed_statement_fails_with_access_denied(local_cloud, ingest):
    record, emulator = local_cloud
    iam, lambda_ = emulator.client("iam"), emulator.client("lambda")
    policy = next(r for r in record["resources"] if r["type"] == "aws:iam/rolePolicy:RolePolicy"
                  and r["name"] == "message-ingest-ingest-permissions")
    role, name, document = policy["inputs"]["role"], policy["outputs"]["name"], json.loads(policy["inputs"]["policy"])
    trimmed = {**document, "Statement": [s for s in document["Statement"] if "s3:GetObject" not in s["Action"]]}
    ingest.drop_csv("e2e/denied.csv", (EVENTS / "readings_20.csv").read_bytes())
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(trimmed))
    try:
        response = lambda_.invoke(FunctionName=role, Payload=json.dumps(s3_event(ingest.outputs["bucket"],
                                                                                    "e2e/denied.csv")))
        payload = json.loads(response["Payload"].read())
        assert response.get("FunctionError"), payload
        assert "AccessDenied" in payload["errorMessage"] and "s3:GetObject" in payload["errorMessage"], payload
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=policy["inputs"]["policy"])


def test_uploads_are_extracted_indexed_and_searchable_and_binaries_quarantined(local_cloud):
    record, emulator = local_cloud
    outputs = record["outputs"]["uploadExtraction"]
    s3 = emulator.client("s3")
    s3.put_object(Bucket=outputs["bucket"], Key="uploads/e2e-note.txt", Body="Zürich exchange report".encode())
    s3.put_object(Bucket=outputs["bucket"], Key="uploads/e2e-pic.png", Body=b"\x89PNG\x00\x00\x00")

    def found() -> list:
        body = call_api(emulator, outputs["apiUrl"] + "search?q=z%C3%BCrich%20report").body
        return body.get("results") if isinstance(body, dict) else None

    [result] = wait_until(found, 30, "the note to be searchable")
    assert result["source"] == "uploads/e2e-note.txt"
    note = wait_until(lambda: _object(s3, outputs["bucket"], "quarantine/e2e-pic.png.json"), 10, "the quarantine")
    assert "binary" in json.loads(note)["Reason"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=outputs["bucket"])["Contents"]]
    assert not [k for k in keys if k.startswith("extracted/extracted/") or k.count(".json") > 1], keys
    assert call_api(emulator, outputs["apiUrl"] + "search?q=%21").status == 400
    assert call_api(emulator, outputs["apiUrl"] + "search?q=report", signed=False).status == 403


def _object(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None



def test_currency_changes_flow_through_the_stream_to_the_view(local_cloud):
    record, emulator = local_cloud
    url = record["outputs"]["currencyStream"]["apiUrl"] + "currency"

    def rates() -> dict:
        return call_api(emulator, url).body["rates"]

    assert call_api(emulator, url, "POST", {"symbol": "CHF", "rate": "0.91"}).status == 200
    wait_until(lambda: rates().get("CHF") == "0.91", 30, "CHF in the view")
    assert call_api(emulator, url, "POST", {"symbol": "CHF", "rate": "0.30000000000000004"}).status == 200
    wait_until(lambda: rates().get("CHF") == "0.30000000000000004", 30, "the CHF update, exact")
    assert call_api(emulator, url + "/CHF", "DELETE").status == 204
    wait_until(lambda: "CHF" not in rates(), 30, "CHF removed from the view")
    assert call_api(emulator, url + "/CHF", "DELETE").status == 404
    assert call_api(emulator, url, "POST", {"symbol": "chf", "rate": "1"}).status == 400



def test_exchange_events_are_archived_and_large_buys_raise_alerts(local_cloud):
    record, emulator = local_cloud
    outputs = record["outputs"]["exchangeEvents"]
    alerts = observe_topic(emulator, outputs["alertsTopicArn"], "e2e-alerts")
    url = outputs["apiUrl"] + "event"
    big = call_api(emulator, url, "POST", {"type": "buy", "price": 5000, "account": "e2e"})
    small = call_api(emulator, url, "POST", {"type": "sell", "price": 5000})
    assert (big.status, small.status) == (202, 202)
    assert call_api(emulator, url, "POST", {"type": "buy/../alert"}).status == 400
    assert call_api(emulator, url, "POST", {"type": "buy"}, signed=False).status == 403

    dynamodb = emulator.client("dynamodb")

    def archived() -> set[str]:
        return {i["id"]["S"] for i in dynamodb.scan(TableName=outputs["archiveTable"])["Items"]}

    wait_until(lambda: {big.body["id"], small.body["id"]} <= archived(), 30, "both events archived")
    [alert] = wait_until(lambda: received(emulator, alerts), 30, "the fraud alert")
    assert alert["event"]["id"] == big.body["id"]
    assert alert["reasons"] == ["price 5000 is at or above the threshold of 1000"]  # exact, never 5000.0
    rule_errors = emulator.client("sqs").get_queue_attributes(
        QueueUrl=outputs["ruleErrorsUrl"], AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert rule_errors["ApproximateNumberOfMessages"] == "0"


def run_feeder(bundle: Path, commands: int, seconds: int = 60) -> subprocess.Popen:
    """The flashed firmware on the host MicroPython, serving `commands` feeds at most."""
    return subprocess.Popen([micropython(), "host.py", str(commands), str(seconds)], cwd=bundle,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_online(process: subprocess.Popen) -> list[list]:
    lines = []
    for raw in process.stdout:
        lines.append(json.loads(raw))
        if lines[-1][:2] == ["state", {"state": "online", "uptime_s": lines[-1][1].get("uptime_s")}]:
            return lines
    raise AssertionError(f"the firmware never came online: {lines}")


def finish(process: subprocess.Popen, lines: list[list]) -> list[list]:
    out, _ = process.communicate(timeout=90)
    lines += [json.loads(line) for line in out.splitlines() if line.strip()]
    assert process.returncode == 0, lines
    return lines


def state_dir(record: dict) -> Path:
    return Path(record["emulator"]["state_dir"])


@pytest.fixture(scope="module")
def kitchen_bundle(local_cloud, tmp_path_factory):
    record, _ = local_cloud
    bundle = tmp_path_factory.mktemp("bundle")
    return flash("local", "kitchen", REPO, bundle, None, feed_seconds=1, state_dir=state_dir(record))


def test_a_click_feeds_the_right_bowl_of_that_feeder_only_over_mutual_tls(local_cloud, kitchen_bundle):
    record, emulator = local_cloud
    assert oct((kitchen_bundle / "key.der").stat().st_mode & 0o777) == "0o600"
    url = record["outputs"]["catFeeder"]["apiUrl"] + "click"
    device = run_feeder(kitchen_bundle, commands=1)
    lines = wait_online(device)
    assert call_api(emulator, url, "POST", {"feeder": "hallway", "clickType": "LONG"}).status == 202
    original = {"feeder": "kitchen", "devicePayload": {"clickType": "DOUBLE"},
                "deviceEvent": {"buttonClicked": {"reportedTime": 1111111}}}
    assert call_api(emulator, url, "POST", original).status == 202
    lines = finish(device, lines)
    commands = [json.loads(line[2])["event"] for line in lines if line[0] == "command"]
    assert commands == ["DOUBLE"], "the hallway's click must not reach the kitchen"
    assert [line[1:] for line in lines if line[0] == "pin"] == [[4, 1], [4, 0]], "right bowl only, on then off"
    states = [line[1]["state"] for line in lines if line[0] == "state"]
    assert states == ["online", "feeding", "fed"] and not [line for line in lines if line[0] == "connection lost"]


def test_the_device_reports_reach_the_ledger_and_get_feeders_shows_the_confirmed_click(local_cloud, kitchen_bundle):
    """A click served by the host firmware: its reports go through the states rule onto the ledger,
    the archive keeps the command and the outcomes, and GET /feeders/kitchen says it was fed."""
    record, emulator = local_cloud
    outputs = record["outputs"]["catFeeder"]
    events = emulator.client("events")
    archive = outputs["archiveArn"].rsplit("/", 1)[1]
    archived_before = events.describe_archive(ArchiveName=archive)["EventCount"]
    device = run_feeder(kitchen_bundle, commands=1)
    lines = wait_online(device)
    clicked = call_api(emulator, outputs["apiUrl"] + "click", "POST", {
        "feeder": "kitchen", "devicePayload": {"clickType": "LONG"},
        "deviceEvent": {"buttonClicked": {"reportedTime": 1790000000123}}})
    assert clicked.status == 202, clicked
    finish(device, lines)

    def confirmed() -> dict | None:
        view = call_api(emulator, outputs["apiUrl"] + "feeders/kitchen").body
        done = view.get("confirmed") and view.get("commandAt") == 1790000000123 and view.get("state") == "fed"
        return view if done else None

    view = wait_until(confirmed, 30, "the kitchen's projection to confirm the LONG click")
    assert (view["state"], view["lastCommand"], view["report"]["bowls"]) == ("fed", "LONG", ["left", "right"])
    assert abs(view["reportedAt"] - time.time() * 1000) < 120_000, "stamped by the broker when it received the report"
    listed = call_api(emulator, outputs["apiUrl"] + "feeders").body["feeders"]
    assert sorted(f["feeder"] for f in listed) == ["hallway", "kitchen"]
    missing = call_api(emulator, outputs["apiUrl"] + "feeders/garage")
    assert missing.status == 404 and "kitchen" in missing.body["message"]
    archived = wait_until(lambda: (n := events.describe_archive(ArchiveName=archive)["EventCount"]) - archived_before
                          >= 4 and n, 30, "the click and the three reports in the archive")
    assert archived - archived_before >= 4, "one command and the online, feeding and fed reports"
    assert int(emulator.client("sqs").get_queue_attributes(
        QueueUrl=outputs["ruleErrorsUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]) == 0


def test_a_click_sent_while_the_feeder_is_away_is_served_when_it_reconnects(local_cloud, kitchen_bundle):
    """QoS 1 commands and the firmware's persistent session: a reboot does not lose a feed."""
    record, emulator = local_cloud
    url = record["outputs"]["catFeeder"]["apiUrl"] + "click"
    assert call_api(emulator, url, "POST", {"feeder": "kitchen", "clickType": "SINGLE"}).status == 202
    time.sleep(2)  # the command reaches the broker while no feeder is connected
    device = run_feeder(kitchen_bundle, commands=1, seconds=30)
    lines = finish(device, [])
    assert [json.loads(line[2])["event"] for line in lines if line[0] == "command"] == ["SINGLE"]
    assert [line[1:] for line in lines if line[0] == "pin"] == [[2, 1], [2, 0]], "the left bowl, after the reboot"


def boot_and_click(local_cloud, filesystem: Path, click_type: str) -> list[str]:
    """Run firmware/main.py from `filesystem` on the host MicroPython (stand-ins for the board's
    `machine` and `network` on its path), click once it is online, and return what it printed
    until it fed with the right bowl (pin 4): a command an earlier test left queued may come first."""
    record, emulator = local_cloud
    env = {**os.environ, "MICROPYPATH": f"{REPO / 'tests' / 'firmware' / 'board'}:{filesystem}:.frozen"}
    process = subprocess.Popen([micropython(), "main.py"], cwd=filesystem, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    seen: list[str] = []
    try:
        for line in process.stdout:
            seen.append(line.rstrip())
            if "'online'" in line:
                break
        url = record["outputs"]["catFeeder"]["apiUrl"] + "click"
        assert call_api(emulator, url, "POST", {"feeder": "kitchen", "clickType": click_type}).status == 202
        right_bowl = False
        for line in process.stdout:
            seen.append(line.rstrip())
            right_bowl = right_bowl or line.startswith('["pin", 4, 1]')
            if right_bowl and "'fed'" in line:
                break
    finally:
        process.kill()
        process.wait(timeout=10)
    return seen


def test_the_board_entry_point_boots_joins_wifi_connects_and_serves_a_click(local_cloud, kitchen_bundle):
    """firmware/main.py itself (real pins, Wi-Fi, watchdog), with the flashed identity."""
    seen = boot_and_click(local_cloud, kitchen_bundle, "LONG")
    assert seen and json.loads(seen[0]) == ["wifi", ""], "it joined Wi-Fi first"
    assert any("'online'" in line for line in seen), seen
    pins = [json.loads(line)[1:] for line in seen if line.startswith('["pin"')]
    assert [2, 1] in pins and [4, 1] in pins, f"LONG feeds both bowls: {seen}"
    assert "'fed'" in seen[-1], seen


def test_flashing_a_board_over_its_serial_port_then_booting_it_serves_a_click(local_cloud, kitchen_bundle, tmp_path,
                                                                             monkeypatch):
    """conduit flash --port onto the board stand-in (the host MicroPython's REPL behind a pty, which
    mpremote opens like a USB serial port), then main.py boots from what landed on its filesystem."""
    record, _ = local_cloud
    monkeypatch.setenv("CONDUIT_WIFI_SSID", "home")
    monkeypatch.setenv("CONDUIT_WIFI_PASSWORD", "secret")
    filesystem = tmp_path / "board"
    filesystem.mkdir()
    files = sorted(["cert.der", "key.der", "ca.der", "identity.json", "device.json", *read_manifest().board_modules])
    with board(filesystem) as port:
        first = flash("local", "kitchen", REPO, None, port, feed_seconds=1, state_dir=state_dir(record))
        assert sorted(first.copied) == files and first.unchanged == [] and first.removed == []
    # A file an older firmware had, and one damaged on the board since; the board is back at its REPL.
    (filesystem / "old.py").write_text("print('gone')\n")
    (filesystem / "conduit-files.json").write_text(json.dumps([*files, "old.py"]))
    (filesystem / "mqtt.py").write_text("# damaged\n")
    with board(filesystem) as port:
        second = flash("local", "kitchen", REPO, None, port, feed_seconds=1, state_dir=state_dir(record))
        assert second.copied == ["mqtt.py"] and second.removed == ["old.py"], second
        assert "read back matches" in second.summary()
    landed = sorted(p.name for p in filesystem.iterdir())
    assert landed == sorted([*files, "conduit-files.json"])
    for name in ("cert.der", "key.der", "ca.der", "mqtt.py"):
        assert (filesystem / name).read_bytes() == (kitchen_bundle / name).read_bytes(), f"{name} copied byte for byte"
    assert json.loads((filesystem / "device.json").read_text())["wifi_ssid"] == "home"
    seen = boot_and_click(local_cloud, filesystem, "DOUBLE")
    assert json.loads(seen[0]) == ["wifi", "home"] and "'fed'" in seen[-1], seen


def test_a_ledger_event_the_feed_refuses_is_retried_then_kept_in_its_failure_queue(local_cloud):
    """EventBridge invokes its targets asynchronously: Lambda retries a failing event twice, then sends
    it to the function's on-failure destination (ministack alone would invoke once and forget)."""
    record, emulator = local_cloud
    outputs = record["outputs"]["catFeeder"]
    sqs = emulator.client("sqs")
    [failures] = sqs.list_queues(QueueNamePrefix="conduit-local-cat-feeder-feed-failures")["QueueUrls"]
    detail = {"click-type": "SINGLE", "feeder": "attic", "reportedTime": 1}  # no feeder of this stack
    emulator.client("events").put_events(Entries=[{"Source": "com.feedmyfurbabies", "DetailType": "AWS IoT 1-Click",
                                                   "Detail": json.dumps(detail), "EventBusName": outputs["busName"]}])
    [kept] = wait_until(lambda: sqs.receive_message(QueueUrl=failures).get("Messages"), 30,
                        "the refused event in the feed's failure queue")
    failure = json.loads(kept["Body"])
    assert failure["requestPayload"]["detail"] == detail
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3, "the first attempt and two retries"


def test_replaying_the_ledger_rebuilds_views_and_feeds_again_only_when_asked(local_cloud, kitchen_bundle):
    """The archive holds clicks already fed: a replay rebuilds GET /feeders and feeds no cat; with
    --feed-again its clicks go out as new commands, with new ids the device has not served."""
    record, _ = local_cloud
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    device = run_feeder(kitchen_bundle, commands=1, seconds=10)
    lines = wait_online(device)
    assert "no cat fed" in replay("local", since, None, REPO, state_dir=state_dir(record))
    out, _ = device.communicate(timeout=60)
    lines += [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [line for line in lines if line[0] in ("command", "pin")] == [], "a plain replay turned a motor"
    device = run_feeder(kitchen_bundle, commands=1)
    lines = wait_online(device)
    assert "fed again" in replay("local", since, None, REPO, state_dir=state_dir(record), feed_again=True)
    commands = [json.loads(line[2]) for line in finish(device, lines) if line[0] == "command"]
    assert commands and all(":feed-again-conduit-local-" in c["id"] for c in commands), commands


def test_flash_refuses_an_unknown_feeder_and_an_inactive_certificate(local_cloud, tmp_path, monkeypatch):
    record, emulator = local_cloud
    monkeypatch.setenv("CONDUIT_LOCAL_DIR", record["emulator"]["state_dir"])  # flash finds the deployment itself
    with pytest.raises(FlashError, match=r"no feeder 'garage'.*\['hallway', 'kitchen'\]"):
        flash("local", "garage", REPO, tmp_path / "garage", None)
    with pytest.raises(FlashError, match="--port PORT"):
        flash("local", "hallway", REPO, None, None)
    certificate = record["outputs"]["catFeeder"]["devices"]["hallway"]["certificateId"]
    iot = emulator.client("iot")
    iot.update_certificate(certificateId=certificate, newStatus="INACTIVE")
    try:
        with pytest.raises(FlashError, match=f"certificate {certificate} .* is INACTIVE"):
            flash("local", "hallway", REPO, tmp_path / "hallway", None)
    finally:
        iot.update_certificate(certificateId=certificate, newStatus="ACTIVE")
    monkeypatch.setenv("CONDUIT_WIFI_SSID", "home")
    with pytest.raises(FlashError, match="could not reach the board on /dev/conduit-no-such-board"):
        flash("local", "hallway", REPO, None, "/dev/conduit-no-such-board")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.system_name)
def test_every_system_scenario_runs_its_demo(deployment, scenario, capsys):
    """The same scenarios `make demo` and `make bench` loop over, each driving its own system."""
    stage = scenario.stage(deployment, REPO)
    assert stage is not None, f"the local stack does not deploy {scenario.system_name}"
    assert scenario.demo(stage), capsys.readouterr().out


def test_the_committed_usage_profile_is_what_the_program_does_now(deployment):
    """The profile `conduit cost` prices (conduit/cost/usage-profile.json) is measured again, small:
    a flow whose calls per event changed fails here until the profile is measured anew."""
    measured = measure_profile(deployment, REPO, scale=0.25)
    assert stale_flows(measured, load_profile()) == {}, "re-measure: conduit local profile --stack local --write"
    row = measured["flows"]["CSV row"]
    assert row["calls"]["dynamodb:PutItem"] == 2.0 and row["usage"]["dynamodb.writeRequestUnits"] == 4.0, \
        "a row is a transaction of two puts (reading and delivery), each billed as two write units"


def read_until(process: subprocess.Popen, lines: list[list], done) -> list[list]:
    """The firmware's lines until `done(lines)`; the host build's own time limit ends a wait."""
    for raw in process.stdout:
        lines.append(json.loads(raw))
        if done(lines):
            return lines
    raise AssertionError(f"the firmware stopped first: {lines[-20:]}")


def test_a_rotation_reaches_the_running_feeder_over_mqtt_and_retires_the_old_certificate(local_cloud, kitchen_bundle):
    """Rotation without a cable, end to end with the host firmware: the new certificate is delivered
    over the feeder's own connection, it switches without a re-flash, the certificates rule detaches
    the old one, no click before, during or after the rotation is missed, and the next `pulumi up`
    (the provider's update) deletes the old certificate."""
    record, emulator = local_cloud
    outputs = record["outputs"]["catFeeder"]
    kitchen, iot = outputs["devices"]["kitchen"], emulator.client("iot")
    props = {"thingName": kitchen["thingName"], "region": emulator.region, "rotation": "1",
             "connection": emulator.connection(), "policyName": outputs["devicePolicy"], "attachThing": True,
             "deliveryTopic": kitchen["certificateTopic"]}
    deployed = {**props, **{k: kitchen[k] for k in ("certificateId", "certificateArn", "certificatePem", "privateKey")},
                "status": "ACTIVE", "previousCertificates": []}
    provider, rotated_props = DeviceCertificateProvider(), {**props, "rotation": "2"}
    clicks = {"SINGLE": 1790000100001, "DOUBLE": 1790000100002, "LONG": 1790000100003}

    def click(kind: str) -> None:
        assert call_api(emulator, outputs["apiUrl"] + "click", "POST", {
            "feeder": "kitchen", "devicePayload": {"clickType": kind},
            "deviceEvent": {"buttonClicked": {"reportedTime": clicks[kind]}}}).status == 202

    def fed(lines: list[list]) -> set[int]:
        return {line[1].get("command") for line in lines if line[0] == "state" and line[1].get("state") == "fed"}

    device = run_feeder(kitchen_bundle, commands=50, seconds=150)
    try:
        lines = wait_online(device)
        click("SINGLE")
        rotated = provider.update(kitchen["certificateId"], deployed, rotated_props).outs
        click("DOUBLE")
        wait_until(lambda: iot.list_thing_principals(thingName=kitchen["thingName"])["principals"]
                   == [rotated["certificateArn"]], 90, "the old certificate detached once the feeder switched")
        click("LONG")
        lines = read_until(device, lines, lambda lines: set(clicks.values()) <= fed(lines))
    finally:
        device.terminate()
        device.communicate(timeout=30)
    assert ["certificate in use", rotated["certificateId"]] in lines, "switched to the certificate delivered"
    served = [json.loads(line[2])["reportedTime"] for line in lines if line[0] == "command"]
    assert all(served.count(t) >= 1 for t in clicks.values()), "no click missed"
    pointer = json.loads((kitchen_bundle / "identity.json").read_text())
    assert pointer["cert"].startswith("cert-") and not (kitchen_bundle / "cert.der").exists(), "no re-flash"
    assert iot.describe_certificate(certificateId=kitchen["certificateId"])["certificateDescription"][
        "status"] == "ACTIVE", "detached, not yet deleted: that is the next up's"
    settled = provider.update(kitchen["certificateId"], rotated, rotated_props).outs
    assert settled["previousCertificates"] == []
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_certificate(certificateId=kitchen["certificateId"])
    with pytest.raises(emulator.client("iot-data").exceptions.ResourceNotFoundException):
        emulator.client("iot-data").get_retained_message(topic=kitchen["certificateTopic"])


def test_every_unused_permission_is_explained(deployment, ingest):
    """Runs last in this module: the flows above are what the roles were given permissions for."""
    unused = unused_permissions(deployment.run, Path(deployment.emulator.audit_log))
    assert [u for u in unused if u.explanation is None] == [], report(unused)
