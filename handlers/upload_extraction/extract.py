"""Extract the text of an uploaded object to `extracted/<name>.json`; quarantine what is not text."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model

from handlers.shared.aws import client, setting
from handlers.shared.observability import entry_point, logger
from handlers.upload_extraction.contract import EXTRACTED, QUARANTINE, UPLOADS


class NotExtractable(ValueError):
    """The object is not text this extractor understands."""


@dataclass(frozen=True)
class Extraction:
    text: str
    kind: str


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1; bytes that are not text are refused."""
    if b"\x00" in data:
        raise NotExtractable("binary content (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    control = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
    if text and control / len(text) > 0.01:
        raise NotExtractable(f"binary content ({control} control characters)")
    return text


def extract(name: str, data: bytes, content_type: str) -> Extraction:
    """Plain text, CSV (cells joined by spaces) or JSON (string values), by extension or type."""
    text = decode_text(data)
    lowered = name.lower()
    if lowered.endswith(".json") or content_type == "application/json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NotExtractable(f"invalid JSON: {exc.msg} at line {exc.lineno}") from None
        return Extraction("\n".join(_strings(document)), "json")
    if lowered.endswith(".csv") or content_type == "text/csv":
        rows = csv.reader(io.StringIO(text, newline=""))
        return Extraction("\n".join(" ".join(cell for cell in row if cell) for row in rows), "csv")
    return Extraction(text, "text")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# S3 keys hold at most 1,024 bytes: a name that would not fit under extracted/ or quarantine/ with
# its ".json" is cut, and a hash of the whole keeps it unique.
MAX_KEY_BYTES = 1024


def target_key(prefix: str, name: str) -> str:
    """`<prefix><name>.json`, shortened (with a hash of the name) when S3 would refuse it as too long."""
    key = f"{prefix}{name}.json"
    if len(key.encode()) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    room = MAX_KEY_BYTES - len(prefix.encode()) - len(f"-{digest}.json")
    head = name.encode()[:room].decode("utf-8", "ignore")
    return f"{prefix}{head}-{digest}.json"


def extract_object(s3: Any, bucket: str, key: str, max_bytes: int) -> str:
    """Write the extraction (or the quarantine note) and return the key written."""
    name = key[len(UPLOADS):]
    head = s3.head_object(Bucket=bucket, Key=key)
    size, content_type = head["ContentLength"], head.get("ContentType", "")
    try:
        if not name or name.endswith("/"):
            raise NotExtractable("a folder marker, not a document")
        if size > max_bytes:
            raise NotExtractable(f"{size} bytes is over the limit of {max_bytes} (MAX_UPLOAD_BYTES)")
        extraction = extract(name, s3.get_object(Bucket=bucket, Key=key)["Body"].read(), content_type)
    except NotExtractable as exc:
        target = target_key(QUARANTINE, name or "(folder)")
        note = {"SourceKey": key, "Size": size, "ContentType": content_type, "Reason": str(exc)}
        s3.put_object(Bucket=bucket, Key=target, Body=json.dumps(note).encode(), ContentType="application/json")
        logger.warning("quarantined", extra=note)
        return target
    target = target_key(EXTRACTED, name)
    document = {"ExtractedDate": int(time.time() * 1000), "Content": extraction.text, "SourceKey": key,
                "Size": size, "ContentType": content_type, "Kind": extraction.kind}
    s3.put_object(Bucket=bucket, Key=target, Body=json.dumps(document).encode(), ContentType="application/json")
    return target


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    notification = S3Model.model_validate(event)
    max_bytes = int(setting("MAX_UPLOAD_BYTES"))
    written = []
    for record in notification.Records:
        key = unquote_plus(record.s3.object.key)
        if not key.startswith(UPLOADS):
            raise ValueError(f"{key} is not under {UPLOADS}; the bucket notification's prefix filter is wrong")
        written.append(extract_object(client("s3"), record.s3.bucket.name, key, max_bytes))
    return {"written": written}
