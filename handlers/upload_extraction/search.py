"""`GET /search?q=...`: the documents that contain every term of the query."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from boto3.dynamodb.conditions import Key
from pydantic import AfterValidator

from handlers.shared.aws import client, every_item, setting, table
from handlers.shared.http import typed_api
from handlers.shared.observability import entry_point
from handlers.upload_extraction.index import MAX_TERM_CHARS, TERM, terms_of

MAX_QUERY_TERMS = 10
MAX_QUERY_CHARS = 1000
app = typed_api()


def _no_term(query: str) -> str:
    """Why a query holds no searchable term: every word too long to be indexed, or none at all."""
    words = TERM.findall(query)
    if words:
        return (f"q has no word the index holds: words are indexed at {MAX_TERM_CHARS} letters or digits at most, "
                f"and the longest here has {max(map(len, words))}")
    return "q must contain at least one word of two or more letters or digits"


def _postings(documents: Any, term: str) -> set[str]:
    return {item["sk"] for item in every_item(documents.query, KeyConditionExpression=Key("pk").eq(f"term#{term}"))}


def search(documents: Any, table_name: str, query: str) -> list[dict[str, Any]]:
    terms = terms_of(query)
    if not terms:
        raise BadRequestError(_no_term(query))
    if len(terms) > MAX_QUERY_TERMS:
        raise BadRequestError(f"q has {len(terms)} terms; at most {MAX_QUERY_TERMS} are allowed")
    matches: set[str] | None = None
    for term in sorted(terms):
        found = _postings(documents, term)
        matches = found if matches is None else matches & found
        if not matches:
            return []
    results = []
    ordered = sorted(matches or [])
    items: list[dict[str, Any]] = []
    for start in range(0, len(ordered), 100):
        request: dict[str, Any] = {table_name: {"Keys": [{"pk": {"S": f"doc#{k}"}, "sk": {"S": "doc"}}
                                                         for k in ordered[start:start + 100]]}}
        while request:
            response = client("dynamodb").batch_get_item(RequestItems=request)
            items.extend(response["Responses"].get(table_name, []))
            request = response.get("UnprocessedKeys") or {}
    for item in items:
        result = as_result(item)
        if result is not None:
            results.append(result)
    return sorted(results, key=lambda r: r["key"])


def _whole_number(attribute: Any) -> int | None:
    try:
        number = Decimal(attribute["N"])
    except (KeyError, TypeError, ArithmeticError):
        return None
    return int(number) if number == number.to_integral_value() else None


def as_result(item: dict[str, Any]) -> dict[str, Any] | None:
    """A search result from a document item; tolerant of items a foreign writer left incomplete."""
    key = (item.get("key") or {}).get("S")
    if not isinstance(key, str):
        return None
    source, preview = (item.get("source") or {}).get("S"), (item.get("preview") or {}).get("S")
    return {"key": key, "source": source if isinstance(source, str) else None,
            "extractedDate": _whole_number(item.get("extractedDate") or {}),
            "preview": preview if isinstance(preview, str) else ""}


def _bounded(query: str) -> str:
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"is longer than {MAX_QUERY_CHARS} characters")
    return query


SearchQuery = Annotated[str, Query(description="words a document must all contain"), AfterValidator(_bounded)]


@app.get("/search")
def search_route(q: SearchQuery = "") -> dict[str, Any]:
    query = q
    name = setting("TABLE_NAME")
    results = search(table(name), name, query)
    return {"query": query, "count": len(results), "results": results}


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
