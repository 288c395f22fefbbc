"""The edge of every HTTP API: a JSON body or a 400 that says why, and validation errors as 400s."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from pydantic import ValidationError

from handlers.shared.errors import describe


def json_body(app: APIGatewayHttpResolver, max_chars: int | None = None,
              parse_float: Callable[[str], Any] | None = None) -> Any:
    """The request body as JSON; too long or not JSON is the caller's mistake, answered with a 400."""
    raw = app.current_event.decoded_body or ""
    if max_chars is not None and len(raw) > max_chars:
        raise BadRequestError(f"body is {len(raw)} characters; at most {max_chars} are accepted")
    try:
        return json.loads(raw, parse_float=parse_float)
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"body is not JSON: {exc.msg} at character {exc.pos}") from None


def answer_validation_errors(app: APIGatewayHttpResolver, dumps: Callable[[Any], str] = json.dumps) -> None:
    """A body that fails its pydantic model gets a 400 naming every faulty field, never a 500."""

    @app.exception_handler(ValidationError)
    def invalid_body(error: ValidationError) -> Response:
        return Response(400, "application/json", dumps({"message": f"invalid body: {describe(error)}"}))
