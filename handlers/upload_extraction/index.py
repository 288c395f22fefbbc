"""Index extracted documents by term, and answer searches for documents holding every term.

One table: a document item (`pk` `doc#<key>`) with its terms, and a posting per term
(`pk` `term#<term>`, `sk` the document key). Re-indexing a document removes postings of terms
it no longer contains, so searches never return stale matches.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.shared.aws import client, setting, table
from handlers.shared.errors import describe
from handlers.shared.observability import entry_point, logger
from handlers.upload_extraction.contract import EXTRACTED

TERM = re.compile(r"\w{2,}", re.UNICODE)
MAX_TERMS = 2000


# A posting's partition key (`term#<term>`) must stay within DynamoDB's 2,048 bytes: a longer "word"
# (a hash, a base64 blob) is no search term anyone types.
MAX_TERM_CHARS = 100


def terms_of(text: str) -> set[str]:
    """Lower-case words of two to MAX_TERM_CHARS letters or digits, in any script."""
    return {t.casefold() for t in TERM.findall(text) if len(t) <= MAX_TERM_CHARS}


class ExtractedDocument(BaseModel):
    """What the indexer accepts under `extracted/`: the extractor writes it, but anyone with access
    to the bucket may put any object there, and a stray one must not break the index or search."""

    model_config = ConfigDict(extra="ignore")

    Content: str
    ExtractedDate: int | None = Field(default=None, ge=0, le=2**53 - 1)
    SourceKey: str | None = Field(default=None, max_length=1024)


def parse_document(body: bytes) -> ExtractedDocument | str:
    """The document, or why it is not one the index can hold."""
    try:
        return ExtractedDocument.model_validate_json(body)
    except ValidationError as exc:
        return describe(exc)


def index_document(documents: Any, key: str, extracted: ExtractedDocument) -> int:
    """Store the document and its postings; returns how many terms it holds."""
    terms = sorted(terms_of(extracted.Content))[:MAX_TERMS]
    previous = documents.get_item(Key={"pk": f"doc#{key}", "sk": "doc"}).get("Item", {})
    stale = set(previous.get("terms", [])) - set(terms)
    with documents.batch_writer() as batch:
        for term in stale:
            batch.delete_item(Key={"pk": f"term#{term}", "sk": key})
        for term in terms:
            batch.put_item(Item={"pk": f"term#{term}", "sk": key})
        batch.put_item(Item={"pk": f"doc#{key}", "sk": "doc", "key": key, "terms": terms,
                             "extractedDate": extracted.ExtractedDate, "source": extracted.SourceKey,
                             "preview": extracted.Content[:200]})
    return len(terms)


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    notification = S3Model.model_validate(event)
    documents = table(setting("TABLE_NAME"))
    indexed = {}
    for record in notification.Records:
        key = unquote_plus(record.s3.object.key)
        if not key.startswith(EXTRACTED):
            raise ValueError(f"{key} is not under {EXTRACTED}; the bucket notification's prefix filter is wrong")
        body = client("s3").get_object(Bucket=record.s3.bucket.name, Key=key)["Body"].read()
        document = parse_document(body)
        if isinstance(document, str):
            # Not the extractor's: left out of the index, and said so (retrying cannot help).
            logger.warning("not indexed", extra={"key": key, "reason": document})
            continue
        indexed[key] = index_document(documents, key, document)
    logger.info("indexed", extra={"documents": indexed})
    return {"indexed": indexed}
