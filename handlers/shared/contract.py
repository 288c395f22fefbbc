"""What every system's deliveries table and its handlers agree on: the attribute that names what was
done (the event's own identity) and the one that expires it. Dependency-free, imported by the
building block in infra/ and by the handlers."""

DELIVERY_KEY = "id"
"""Powertools' Idempotency utility names its key attribute `id`; the store's own markers use it too."""
DELIVERY_EXPIRY = "expiration"
"""Epoch seconds after which DynamoDB's TTL deletes the record: once AWS can no longer repeat the event."""
DELIVERIES_SETTING = "DELIVERIES_TABLE"
"""The environment variable that names a function's deliveries table."""
