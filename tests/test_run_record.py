"""The run record is one typed shape on both sides of the process boundary and in the local cloud's
record file: what is written is read back unchanged, under the JSON keys the file has always had."""

from __future__ import annotations

import json

from conduit.child import plain
from conduit.offline.pulumi_seam import SECRET_SIG as WIRE_SECRET_SIG
from conduit.offline.pulumi_seam import SIG_KEY
from conduit.run_record import SECRET_SIG, SECRET_SIG_KEY, RecordedResource, RunRecord, Secret, reveal


def test_a_record_reads_back_what_was_written():
    record = RunRecord("dev", [
        RecordedResource("urn:pulumi:dev::p::conduit:blocks:Queue::q", "conduit:blocks:Queue", "q", custom=False),
        RecordedResource("urn:pulumi:dev::p::aws:sqs/queue:Queue::q", "aws:sqs/queue:Queue", "q",
                         parent="urn:pulumi:dev::p::conduit:blocks:Queue::q", id="https://sqs/q",
                         inputs={"name": "q"}, outputs={"arn": "arn:aws:sqs:eu-west-1:1:q"},
                         dependencies=["urn:a"], property_dependencies={"kmsMasterKeyId": ["urn:a"]},
                         provider="urn:pulumi:dev::p::pulumi:providers:aws::west")],
        outputs={"queue": "q"}, direct_calls=[{"line": "x.py:1: boto3.client('s3')"}])
    document = json.loads(json.dumps(record.to_json()))
    assert RunRecord.from_json(document) == record
    assert set(document) == {"stack", "resources", "outputs", "directCalls"}
    assert document["resources"][1]["propertyDependencies"] == {"kmsMasterKeyId": ["urn:a"]}
    assert [r.name for r in record.custom] == ["q"] and record.custom[0].type == "aws:sqs/queue:Queue"
    assert record.of_type("conduit:blocks:Queue") == [record.resources[0]]


def test_a_stored_record_with_more_keys_and_fewer_fields_still_reads():
    """The local cloud's file adds the emulator and timings; an older record may lack the newer fields."""
    stored = {"stack": "local", "emulator": {"pid": 1}, "timings": {}, "outputs": {},
              "resources": [{"urn": "urn:x", "type": "aws:s3/bucket:Bucket", "name": "b", "custom": True,
                             "inputs": {"bucket": "b"}}]}
    record = RunRecord.from_json(stored)
    assert record.resources[0].property_dependencies == {} and record.resources[0].provider is None
    assert record.direct_calls == []


def test_a_secret_keeps_its_mark_across_the_boundary_and_only_reveal_takes_it_off():
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
    record = RunRecord("local", [RecordedResource("urn:pulumi:local::p::conduit:x:Cert::c", "conduit:x:Cert", "c",
                                                  outputs={"privateKey": Secret(key), "id": "c1"})],
                       outputs={"devices": {"kitchen": {"privateKey": Secret(key), "thingName": "t"}},
                                "nested": Secret({"a": [1, Secret("b")]})})
    document = json.loads(json.dumps(record.to_json()))
    marked = document["outputs"]["devices"]["kitchen"]["privateKey"]
    assert marked == {SECRET_SIG_KEY: SECRET_SIG, "plaintext": json.dumps(key)}, "as pulumi stack export writes it"
    read = RunRecord.from_json(document)
    assert read == record and isinstance(read.resources[0].outputs["privateKey"], Secret)
    assert reveal(read.outputs) == {"devices": {"kitchen": {"privateKey": key, "thingName": "t"}},
                                    "nested": {"a": [1, "b"]}}
    assert key not in repr(read) and "BEGIN" not in str(read.outputs), "a secret never prints by accident"


def test_the_records_secret_mark_is_the_one_pulumi_writes():
    assert (SECRET_SIG_KEY, SECRET_SIG) == (SIG_KEY, WIRE_SECRET_SIG)


def test_the_child_marks_secrets_for_the_local_cloud_and_masks_them_offline():
    wire = {"bucket": "b", "password": {SIG_KEY: WIRE_SECRET_SIG, "value": "hunter2"}}
    assert plain(wire) == {"bucket": "b", "password": "[secret]"}
    assert plain(wire, keep_secrets=True) == {"bucket": "b", "password": Secret("hunter2")}
