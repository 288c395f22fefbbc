"""Put an event on the feeder's ledger bus; the click API and the states rule both write there."""

from __future__ import annotations

from typing import Any

from handlers.cat_feeder.contract import SOURCE


class LedgerError(RuntimeError):
    """EventBridge did not take the event."""


def put_on_ledger(events: Any, bus: str, detail_type: str, detail: str) -> str:
    """The event's id; raises LedgerError when the bus refuses the entry (PutEvents answers 200 then)."""
    response = events.put_events(Entries=[{"Source": SOURCE, "DetailType": detail_type, "EventBusName": bus,
                                           "Detail": detail}])
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        raise LedgerError(f"the bus refused the {detail_type!r} event: {entry.get('ErrorCode')}: "
                          f"{entry.get('ErrorMessage')}")
    return entry["EventId"]
