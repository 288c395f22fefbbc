"""The edge of every HTTP API: typed routes, a bounded JSON body, and every caller mistake a 400.

Every API is made by `typed_api`: routes declare their bodies and parameters as types, and
Powertools parses them with `bounded_json`, so the limits hold for all of them before any model
runs: the size (`MAX_BODY_CHARS`), the nesting depth (`MAX_DEPTH`: a body nested thousands deep
would exhaust Python's recursion) and Python's own limit on integer digits.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import ValidationError

from handlers.shared.errors import describe, describe_errors
from handlers.shared.numbers import exact_dumps, exact_loads

MAX_BODY_CHARS = 65_536
MAX_DEPTH = 32


def nesting_depth(text: str) -> int:
    """How deep JSON text nests arrays and objects (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def bounded_json(max_chars: int = MAX_BODY_CHARS) -> Callable[[str], Any]:
    """The JSON reader Powertools parses every typed body with: too long, too deep or not JSON is
    answered with a 400 before any model sees it. Numbers are read exactly (Decimal), never as floats."""

    def read(raw: str) -> Any:
        if len(raw) > max_chars:
            raise BadRequestError(f"body is {len(raw)} characters; at most {max_chars} are accepted")
        if nesting_depth(raw) > MAX_DEPTH:
            raise BadRequestError(f"body nests deeper than {MAX_DEPTH} levels")
        try:
            return exact_loads(raw)
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"body is not JSON: {exc.msg} at character {exc.pos}") from None
        except (ValueError, RecursionError) as exc:  # e.g. an integer beyond Python's 4,300-digit limit
            raise BadRequestError(f"body is not JSON this API can read: {exc}") from None

    return read


class JsonApi(APIGatewayHttpResolver):
    """An API whose bodies are JSON whatever content type the client declares, as they always were
    here (`curl -d` declares a form; the originals' clients declared nothing). Left to itself,
    Powertools would parse forms and multipart bodies, and a multipart type without a boundary
    would end in a 500."""

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
        return super().resolve({**event, "headers": {**headers, "content-type": "application/json"}}, context)


def typed_api(max_chars: int = MAX_BODY_CHARS) -> APIGatewayHttpResolver:
    """An HTTP API whose routes declare their bodies, query and path parameters as types: Powertools
    parses and validates them (through `bounded_json`), and every failure is one 400 shape. Numbers
    come in as Decimal and go out with their own digits (`exact_dumps`)."""
    serializer = exact_dumps
    app = JsonApi(serializer=serializer, enable_validation=True, json_body_deserializer=bounded_json(max_chars))
    answer_validation_errors(app, serializer)
    return app


def exact(body: Any, status: int = 200) -> Response[str]:
    """A JSON response whose numbers keep their digits. A route's plain return value is encoded by
    Powertools first (its encoder turns a Decimal into a float, or a string under a return type), so
    routes that answer with stored numbers hand over text `exact_dumps` wrote."""
    return Response(status, "application/json", exact_dumps(body))


def _where(location: tuple[Any, ...]) -> tuple[Any, ...]:
    """A field's place as the caller wrote it: `feeder`, not Powertools' `body.feeder`."""
    return location[1:] if location and location[0] in ("body", "query", "path") else location


def answer_validation_errors(app: APIGatewayHttpResolver, dumps: Callable[[Any], str] = json.dumps) -> None:
    """Whatever fails its declared type gets a 400 naming every faulty field, never a 500 or a 422."""

    def bad_request(message: str) -> Response:
        return Response(400, "application/json", dumps({"message": message}))

    @app.exception_handler(ValidationError)
    def invalid_model(error: ValidationError) -> Response:
        return bad_request(f"invalid body: {describe(error)}")

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        parts: dict[str, list[Any]] = {}
        for e in error.errors():
            location = tuple(e.get("loc", ())) or ("body",)
            parts.setdefault(str(location[0]), []).append({**e, "loc": _where(location)})
        return bad_request("; ".join(f"invalid {where}: {describe_errors(errors)}" for where, errors in parts.items()))

    @app.exception_handler([UnicodeDecodeError, binascii.Error])
    def unreadable(_error: Exception) -> Response:
        return bad_request("body is not UTF-8 text")
