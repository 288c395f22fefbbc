"""A click, in the original IoT 1-Click button shape or in a plain one, and the feed command."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

ClickType = Literal["SINGLE", "DOUBLE", "LONG"]
FeederName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,32}$")]



class Click(BaseModel):
    """`{"feeder": "kitchen", "clickType": "SINGLE"}`, or the original button event
    `{"devicePayload": {"clickType": ...}, "deviceEvent": {"buttonClicked": {"reportedTime": ...}}}`
    with a `feeder` added."""

    model_config = ConfigDict(extra="forbid")

    feeder: FeederName
    click_type: ClickType = Field(alias="clickType")
    reported_time: int = Field(default_factory=lambda: int(time.time() * 1000), alias="reportedTime", ge=0,
                               le=2**53 - 1)  # a JSON number every client (and the firmware) reads exactly

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
            flat = {"feeder": data.get("feeder"), "clickType": payload.get("clickType")}
            return {**flat, **({"reportedTime": reported} if reported is not None else {})}
        return data


class ClickDetail(BaseModel):
    """A click as the ledger records it: the originals' `{"click-type": ...}` detail, with the feeder
    and the time. The click API writes it and the feeder reads it: one model, both ends."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    click_type: ClickType = Field(alias="click-type")
    feeder: FeederName
    reported_time: int = Field(default_factory=lambda: int(time.time() * 1000), alias="reportedTime", ge=0,
                               le=2**53 - 1)

    @classmethod
    def of(cls, click: Click) -> ClickDetail:
        return cls(click_type=click.click_type, feeder=click.feeder, reported_time=click.reported_time)


class ClickEvent(EventBridgeModel):
    """The ledger's event, as EventBridge delivers it to the feeder."""

    detail: ClickDetail  # type: ignore[assignment]


class FeedCommand(BaseModel):
    """What the feeder publishes to the device: the original `{"event", "reportedTime"}`."""

    event: ClickType
    reportedTime: int
