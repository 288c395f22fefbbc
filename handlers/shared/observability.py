"""Every entry point's logging context and tracing, put on by one decorator so none is forgotten.

`@entry_point()` (or `@entry_point(correlation_paths.API_GATEWAY_HTTP)` for an HTTP API, whose
request id becomes the correlation id) adds Powertools' `inject_lambda_context` (function name,
request id and cold start in every log line) and `capture_lambda_handler` (an X-Ray segment per
invocation). Tracing is a no-op unless the function's component turned it on
(POWERTOOLS_TRACE_DISABLED is set by infra/blocks/function.py from the stack's `tracing`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer

logger = Logger()
tracer = Tracer()

Handler = Callable[[dict[str, Any], Any], Any]


def entry_point(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    def wrap(handler: Handler) -> Handler:
        traced = tracer.capture_lambda_handler(handler)
        return logger.inject_lambda_context(correlation_id_path=correlation_id_path)(traced)

    return wrap
