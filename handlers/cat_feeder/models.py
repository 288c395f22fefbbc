"""A click, in the original IoT 1-Click button shape or in a plain one; the feed command; the
device's state report; and the two kinds of ledger event they become."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from handlers.cat_feeder.contract import CLICK_DETAIL_TYPE, STATE_DETAIL_TYPE

ClickType = Literal["SINGLE", "DOUBLE", "LONG"]
FeederName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,32}$")]
Millis = Annotated[int, Field(ge=0, le=2**53 - 1)]  # a JSON number every client (and the firmware) reads exactly


class Click(BaseModel):
    """`{"feeder": "kitchen", "clickType": "SINGLE"}`, or the original button event
    `{"devicePayload": {"clickType": ...}, "deviceEvent": {"buttonClicked": {"reportedTime": ...}}}`,
    which may name no feeder: its `placementInfo.placementName`, or the stack's default, decides
    (`feeder_for`)."""

    model_config = ConfigDict(extra="forbid")

    feeder: FeederName | None  # required in the plain shape; None only from a button event without one
    placement: str | None = None  # a known feeder's name, or ignored for the default
    click_type: ClickType = Field(alias="clickType")
    reported_time: Millis = Field(default_factory=lambda: int(time.time() * 1000), alias="reportedTime")

    @model_validator(mode="before")
    @classmethod
    def _from_button_event(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("devicePayload" in data or "deviceEvent" in data):
            payload, event = data.get("devicePayload") or {}, data.get("deviceEvent") or {}
            clicked = event.get("buttonClicked") or {} if isinstance(event, dict) else {}
            for where, part in (("devicePayload", payload), ("deviceEvent", event),
                                ("deviceEvent.buttonClicked", clicked)):
                if not isinstance(part, dict):
                    raise ValueError(f"{where} must be an object, not {type(part).__name__}")
            reported = clicked.get("reportedTime")
            placement = data.get("placementInfo")
            name = placement.get("placementName") if isinstance(placement, dict) else None
            flat = {"feeder": data.get("feeder"), "clickType": payload.get("clickType"),
                    "placement": name if isinstance(name, str) else None}
            return {**flat, **({"reportedTime": reported} if reported is not None else {})}
        if isinstance(data, dict) and "feeder" in data and data["feeder"] is None:
            raise ValueError("feeder must name a feeder; only the original button event may leave it out")
        return data

    def feeder_for(self, feeders: list[str], default: str) -> str:
        """The feeder this click is for: its own, else its placement's when that is a known feeder,
        else the stack's default feeder (`conduit:catFeeder.defaultFeeder`)."""
        if self.feeder is not None:
            return self.feeder
        return self.placement if self.placement in feeders else default


class ClickDetail(BaseModel):
    """A click as the ledger records it: the originals' `{"click-type": ...}` detail, with the feeder
    and the time. The click API writes it and the feeder reads it: one model, both ends."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    click_type: ClickType = Field(alias="click-type")
    feeder: FeederName
    reported_time: Millis = Field(default_factory=lambda: int(time.time() * 1000), alias="reportedTime")

    @classmethod
    def of(cls, click: Click, feeder: str) -> ClickDetail:
        return cls(click_type=click.click_type, feeder=feeder, reported_time=click.reported_time)


class ClickEvent(EventBridgeModel):
    """A click on the ledger, as EventBridge delivers it."""

    detail_type: Literal[CLICK_DETAIL_TYPE] = Field(alias="detail-type")  # type: ignore[assignment]
    detail: ClickDetail  # type: ignore[assignment]


class FeederReport(BaseModel):
    """What the device published on its states topic, as the states rule delivers it: the device's
    JSON plus the feeder (the topic's second level) and when the broker received it, in ms."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    feeder: FeederName
    state: Literal["online", "feeding", "fed", "error"]
    reported_at: Millis = Field(alias="reportedAt")
    event: ClickType | None = None
    bowls: list[Literal["left", "right"]] | None = None
    queued: Annotated[int, Field(ge=0)] | None = None
    command: Millis | None = None  # the reportedTime of the click this report serves
    error: Annotated[str, StringConstraints(max_length=500)] | None = None
    uptime_s: Annotated[int, Field(ge=0)] | None = None


class StateEvent(EventBridgeModel):
    """A device's report on the ledger, as EventBridge delivers it."""

    detail_type: Literal[STATE_DETAIL_TYPE] = Field(alias="detail-type")  # type: ignore[assignment]
    detail: FeederReport  # type: ignore[assignment]


LedgerEvent = Annotated[ClickEvent | StateEvent, Field(discriminator="detail_type")]


class FeedCommand(BaseModel):
    """What the feeder publishes to the device: the original `{"event", "reportedTime"}`."""

    event: ClickType
    reportedTime: int
