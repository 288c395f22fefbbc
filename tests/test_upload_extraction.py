"""Upload extraction: text in UTF-8, Latin-1, CSV and JSON is extracted and indexed; binary and
oversized objects are quarantined; searches return documents holding every term."""

from __future__ import annotations

import json

import boto3
import pytest

from handlers.upload_extraction import extract, index, search
from tests.conftest import LAMBDA_CONTEXT, http_event, s3_event
from tests.program import STACKS, declared, of_type, policy_statements

BUCKET, TABLE = "conduit-test-uploads", "conduit-test-index"


@pytest.fixture
def uploads(moto_aws, monkeypatch):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    boto3.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}])
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "4096")
    monkeypatch.setenv("TABLE_NAME", TABLE)
    return s3


def upload_and_extract(s3, name: str, body: bytes, content_type: str = "text/plain") -> str:
    s3.put_object(Bucket=BUCKET, Key=f"uploads/{name}", Body=body, ContentType=content_type)
    [written] = extract.handler(s3_event(BUCKET, f"uploads/{name}"), LAMBDA_CONTEXT)["written"]
    return written


def read_json(s3, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.mark.parametrize(("name", "body", "content_type", "expected"), [
    ("note.txt", "Grüße aus Köln".encode(), "text/plain", "Grüße aus Köln"),
    ("latin.txt", "café crème".encode("latin-1"), "text/plain", "café crème"),
    ("bom.txt", b"\xef\xbb\xbfhello", "text/plain", "hello"),
    ("rates.csv", b'symbol,name\r\nUSD,"US dollar"\r\n', "text/csv", "symbol name\nUSD US dollar"),
    ("doc.json", json.dumps({"title": "Quarterly", "tags": ["fx", "rates"], "n": 3}).encode(), "application/json",
     "Quarterly\nfx\nrates"),
])
def test_text_is_extracted_with_its_metadata(uploads, name, body, content_type, expected):
    written = upload_and_extract(uploads, name, body, content_type)
    assert written == f"extracted/{name}.json"
    document = read_json(uploads, written)
    assert document["Content"] == expected
    assert document["SourceKey"] == f"uploads/{name}" and document["Size"] == len(body)
    assert document["ContentType"] == content_type and document["ExtractedDate"] > 1_700_000_000_000


@pytest.mark.parametrize(("name", "body", "reason"), [
    ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
    ("big.txt", b"a" * 5000, "over the limit of 4096"),
    ("broken.json", b'{"a": ', "invalid JSON"),
])
def test_binary_oversized_or_broken_objects_are_quarantined_with_the_reason(uploads, name, body, reason):
    written = upload_and_extract(uploads, name, body)
    assert written == f"quarantine/{name}.json"
    assert reason in read_json(uploads, written)["Reason"]
    assert "Contents" not in uploads.list_objects_v2(Bucket=BUCKET, Prefix="extracted/")


def test_the_extractor_refuses_keys_outside_uploads(uploads):
    with pytest.raises(ValueError, match="prefix filter"):
        extract.handler(s3_event(BUCKET, "extracted/x.json"), LAMBDA_CONTEXT)


def index_key(s3, key: str) -> dict:
    return index.handler(s3_event(BUCKET, key), LAMBDA_CONTEXT)


def query(q: str) -> tuple[int, dict]:
    response = search.handler(http_event("GET", "/search", query={"q": q}), LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def test_documents_are_found_by_every_term_and_reindexing_forgets_old_terms(uploads):
    first = upload_and_extract(uploads, "a.txt", b"Exchange rates rose; the euro gained.")
    second = upload_and_extract(uploads, "b.txt", "Rates fell in Zürich".encode())
    index_key(uploads, first)
    index_key(uploads, second)
    assert [r["key"] for r in query("rates")[1]["results"]] == [first, second]
    assert [r["key"] for r in query("RATES euro")[1]["results"]] == [first]
    assert [r["key"] for r in query("zürich")[1]["results"]] == [second]
    assert query("rates yen")[1]["results"] == []

    upload_and_extract(uploads, "a.txt", b"Nothing about money now.")
    index_key(uploads, first)
    assert [r["key"] for r in query("euro")[1]["results"]] == []
    assert [r["key"] for r in query("money")[1]["results"]] == [first]


@pytest.mark.parametrize(("q", "message"), [("", "at least one word"), ("!", "at least one word"),
                                            ("x" * 1001, "longer than 1000"),
                                            ("y" * 1000, "indexed at 100 letters or digits at most, and the "
                                                         "longest here has 1000"),
                                            (" ".join(f"t{n}" for n in range(11)), "at most 10")])
def test_bad_queries_get_a_400(uploads, q, message):
    status, body = query(q)
    assert status == 400 and message in body["message"]


@pytest.mark.parametrize("stack", STACKS)
def test_triggers_cannot_loop_and_each_step_writes_only_where_the_next_reads(stack):
    document = declared(stack)
    [notification] = [n for n in of_type(document, "aws:s3/bucketNotification:BucketNotification")
                      if n.name == "upload-extraction-steps"]
    configs = notification.inputs["lambdaFunctions"]
    prefixes = {c["lambdaFunctionArn"].rsplit(":", 1)[1]: c["filterPrefix"] for c in configs}
    assert prefixes == {f"conduit-{stack}-upload-extraction-extract": "uploads/",
                        f"conduit-{stack}-upload-extraction-index": "extracted/"}
    writes = [r for urn, s in policy_statements(document) if "upload-extraction-extract" in urn
              and "s3:PutObject" in s["Action"] for r in s["Resource"]]
    reads = [r for urn, s in policy_statements(document) if "upload-extraction-extract" in urn
             and "s3:GetObject" in s["Action"] for r in s["Resource"]]
    assert [r.rsplit("/", 2)[-2] for r in writes] == ["extracted", "quarantine"], writes
    assert [r.rsplit("/", 2)[-2] for r in reads] == ["uploads"], reads


def test_odd_uploads_are_extracted_or_quarantined_never_lost(uploads):
    """A folder marker, a name too long for its extracted key, an empty file, a word too long to index."""
    s3 = uploads
    folder = upload_and_extract(s3, "notes/", b"")
    assert folder.startswith("quarantine/") and "folder marker" in read_json(s3, folder)["Reason"]
    long_name = "report-" + "é" * 505 + ".txt"  # 1,017 bytes: fits under uploads/, not under extracted/ + .json
    written = upload_and_extract(s3, long_name, b"a long name")
    assert written.startswith("extracted/report-") and len(written.encode()) <= 1024
    assert upload_and_extract(s3, "empty.txt", b"").startswith("extracted/")
    blob = upload_and_extract(s3, "blob.txt", b"searchable " + b"x" * 3000)  # a "word" of 3,000 letters
    index_key(s3, blob)
    status, body = query("searchable")
    assert status == 200 and body["count"] == 1
    keys = [item["pk"] for item in boto3.resource("dynamodb").Table(TABLE).scan()["Items"]]
    assert max(len(k.encode()) for k in keys) <= 2048, "DynamoDB refuses a partition key over 2,048 bytes"
    status, _ = query("x" * 900)
    assert status < 500
