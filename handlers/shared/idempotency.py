"""Effects that must happen once per event, however often AWS delivers it: Powertools' Idempotency
utility with its DynamoDB persistence layer, keyed by the event's own identity.

A repeat within the record's lifetime returns the first call's result without running again; a
crash after the effect but before the record completes leaves it in progress until the invocation
would have timed out, after which a retry runs again (at least once, never twice concurrently).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from handlers.shared.aws import setting
from handlers.shared.contract import DELIVERIES_SETTING, DELIVERY_EXPIRY, DELIVERY_KEY

Result = TypeVar("Result")


@functools.cache
def persistence() -> DynamoDBPersistenceLayer:
    """The function's deliveries table (infra/blocks/deliveries.py), one client per container."""
    return DynamoDBPersistenceLayer(table_name=setting(DELIVERIES_SETTING), key_attr=DELIVERY_KEY,
                                    expiry_attr=DELIVERY_EXPIRY)


class Once:
    """`Once(f, "event", "id", seconds)(event=...)` runs `f` once per value of the `id` field of its
    `event` argument; the record lives `seconds` (sized from how long AWS may redeliver)."""

    def __init__(self, function: Callable[..., Result], data_argument: str, key: str, expires_after_seconds: int):
        self.config = IdempotencyConfig(event_key_jmespath=key, expires_after_seconds=expires_after_seconds,
                                        raise_on_no_idempotency_key=True)
        self._function, self._argument = function, data_argument

    @functools.cached_property
    def _guarded(self) -> Callable[..., Any]:
        return idempotent_function(data_keyword_argument=self._argument, persistence_store=persistence(),
                                   config=self.config)(self._function)

    def __call__(self, context: Any, **arguments: Any) -> Any:
        """Run once per key; `context` (the Lambda context) bounds how long a crashed call stays in progress."""
        self.config.register_lambda_context(context)
        return self._guarded(**arguments)
