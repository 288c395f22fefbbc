"""Index extracted documents by term, and answer searches for documents holding every term.

One table: a document item (`pk` `doc#<key>`) with its terms, and a posting per term
(`pk` `term#<term>`, `sk` the document key). Re-indexing a document removes postings of terms
it no longer contains, so searches never return stale matches.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser.models import S3Model

from handlers.shared.aws import client, setting, table

logger = Logger()
TERM = re.compile(r"\w{2,}", re.UNICODE)
MAX_TERMS = 2000
EXTRACTED = "extracted/"


def terms_of(text: str) -> set[str]:
    """Lower-case words of two or more letters or digits, in any script."""
    return {t.casefold() for t in TERM.findall(text)}


def index_document(documents: Any, key: str, extracted: dict[str, Any]) -> int:
    """Store the document and its postings; returns how many terms it holds."""
    terms = sorted(terms_of(extracted.get("Content", "")))[:MAX_TERMS]
    previous = documents.get_item(Key={"pk": f"doc#{key}", "sk": "doc"}).get("Item", {})
    stale = set(previous.get("terms", [])) - set(terms)
    with documents.batch_writer() as batch:
        for term in stale:
            batch.delete_item(Key={"pk": f"term#{term}", "sk": key})
        for term in terms:
            batch.put_item(Item={"pk": f"term#{term}", "sk": key})
        batch.put_item(Item={"pk": f"doc#{key}", "sk": "doc", "key": key, "terms": terms,
                             "extractedDate": extracted.get("ExtractedDate"), "source": extracted.get("SourceKey"),
                             "preview": extracted.get("Content", "")[:200]})
    return len(terms)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    notification = S3Model.model_validate(event)
    documents = table(setting("TABLE_NAME"))
    indexed = {}
    for record in notification.Records:
        key = unquote_plus(record.s3.object.key)
        if not key.startswith(EXTRACTED):
            raise ValueError(f"{key} is not under {EXTRACTED}; the bucket notification's prefix filter is wrong")
        body = client("s3").get_object(Bucket=record.s3.bucket.name, Key=key)["Body"].read()
        indexed[key] = index_document(documents, key, json.loads(body))
    logger.info("indexed", extra={"documents": indexed})
    return {"indexed": indexed}
