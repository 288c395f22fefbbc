"""The edge of every HTTP API: a bounded JSON body or a 400 that says why, and validation errors as 400s.

Every API reads its body here, so the limits hold for all of them: the size (`MAX_BODY_CHARS`),
the nesting depth (`MAX_DEPTH`: a body nested thousands deep would exhaust Python's recursion)
and Python's own limit on integer digits, each a caller's mistake answered with a 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from pydantic import ValidationError

from handlers.shared.errors import describe

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


def json_body(app: APIGatewayHttpResolver, max_chars: int = MAX_BODY_CHARS,
              parse_float: Callable[[str], Any] | None = None) -> Any:
    """The request body as JSON; too long, too deep, not text or not JSON is answered with a 400."""
    try:
        raw = app.current_event.decoded_body or ""
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("body is not UTF-8 text") from None
    if len(raw) > max_chars:
        raise BadRequestError(f"body is {len(raw)} characters; at most {max_chars} are accepted")
    if nesting_depth(raw) > MAX_DEPTH:
        raise BadRequestError(f"body nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(raw, parse_float=parse_float)
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"body is not JSON: {exc.msg} at character {exc.pos}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer beyond Python's 4,300-digit limit
        raise BadRequestError(f"body is not JSON this API can read: {exc}") from None


def answer_validation_errors(app: APIGatewayHttpResolver, dumps: Callable[[Any], str] = json.dumps) -> None:
    """A body that fails its pydantic model gets a 400 naming every faulty field, never a 500."""

    @app.exception_handler(ValidationError)
    def invalid_body(error: ValidationError) -> Response:
        return Response(400, "application/json", dumps({"message": f"invalid body: {describe(error)}"}))
