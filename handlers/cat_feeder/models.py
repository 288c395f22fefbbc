"""A click, in the AWS IoT 1-Click event's shape, the original project's button shape or a plain one;
the feed command; the device's state report; and the two kinds of ledger event they become."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from handlers.cat_feeder.contract import CLICK_DETAIL_TYPE, FEED_AGAIN, STATE_DETAIL_TYPE

ClickType = Literal["SINGLE", "DOUBLE", "LONG"]
FeederName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,32}$")]
MAX_MILLIS = 2**53 - 1  # a JSON number every client (and the firmware) reads exactly


def _epoch_millis(value: Any) -> Any:
    """Milliseconds since the epoch, from a number or from an ISO 8601 time (what AWS IoT 1-Click
    sends: `2018-05-04T23:26:33.747Z`); anything else is left for the type to refuse."""
    if isinstance(value, bool):
        raise ValueError("reportedTime must be a time, not true or false")
    if isinstance(value, str) and not value.isdigit():
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"reportedTime {value[:40]!r} is neither epoch milliseconds nor an ISO 8601 time") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1000)
    return value


Millis = Annotated[int, BeforeValidator(_epoch_millis), Field(ge=0, le=MAX_MILLIS)]


def _now_millis() -> int:
    return int(time.time() * 1000)


def _object(part: Any, where: str) -> dict[str, Any]:
    if part is None:
        return {}
    if not isinstance(part, dict):
        raise ValueError(f"{where} must be an object, not {type(part).__name__}")
    return part


class Click(BaseModel):
    """`{"feeder": "kitchen", "clickType": "SINGLE"}`, or a button event: AWS IoT 1-Click's own
    (`deviceEvent.buttonClicked.{clickType, reportedTime}`, `deviceInfo`, `placementInfo`) or the
    original project's (`devicePayload.clickType`). A button event may name no feeder: its
    placement's name, when that is a feeder of the stack, or the stack's default decides."""

    model_config = ConfigDict(extra="forbid")

    feeder: FeederName | None  # required in the plain shape; None only from a button event without one
    placement: str | None = None  # a feeder's name, or ignored for the default
    device: str | None = None  # the button's deviceId, as 1-Click names it
    click_type: ClickType = Field(alias="clickType")
    reported_time: Millis = Field(default_factory=_now_millis, alias="reportedTime")

    @model_validator(mode="before")
    @classmethod
    def _from_button_event(cls, data: Any) -> Any:
        if not (isinstance(data, dict) and ({"devicePayload", "deviceEvent", "deviceInfo"} & set(data))):
            if isinstance(data, dict) and "feeder" in data and data["feeder"] is None:
                raise ValueError("feeder must name a feeder; only a button event may leave it out")
            return data
        unknown = set(data) - {"feeder", "devicePayload", "deviceEvent", "deviceInfo", "placementInfo"}
        if unknown:
            raise ValueError(f"a button event has no field {sorted(unknown)[0]!r}")
        payload = _object(data.get("devicePayload"), "devicePayload")
        event = _object(data.get("deviceEvent"), "deviceEvent")
        clicked = _object(event.get("buttonClicked"), "deviceEvent.buttonClicked")
        info = _object(data.get("deviceInfo"), "deviceInfo")
        placement = data.get("placementInfo")
        name = placement.get("placementName") if isinstance(placement, dict) else None
        flat = {"feeder": data.get("feeder"), "clickType": clicked.get("clickType", payload.get("clickType")),
                "placement": name if isinstance(name, str) else None,
                "device": info.get("deviceId") if isinstance(info.get("deviceId"), str) else None}
        reported = clicked.get("reportedTime")
        return {**flat, **({"reportedTime": reported} if reported is not None else {})}

    def feeder_for(self, known: Callable[[str], bool], default: str) -> str:
        """The feeder this click is for: its own, else its placement's when that is a feeder of the
        stack, else the stack's default feeder (`conduit:catFeeder.defaultFeeder`)."""
        if self.feeder is not None:
            return self.feeder
        return self.placement if self.placement and known(self.placement) else default


class ClickDetail(BaseModel):
    """A click as the ledger records it: the originals' `{"click-type": ...}` detail, with the feeder
    and the time. The click API writes it and the feeder reads it: one model, both ends."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    click_type: ClickType = Field(alias="click-type")
    feeder: FeederName
    reported_time: Millis = Field(default_factory=_now_millis, alias="reportedTime")

    @classmethod
    def of(cls, click: Click, feeder: str) -> ClickDetail:
        return cls(click_type=click.click_type, feeder=feeder, reported_time=click.reported_time)


class ClickEvent(EventBridgeModel):
    """A click on the ledger, as EventBridge delivers it (live, or replayed from the archive)."""

    detail_type: Literal[CLICK_DETAIL_TYPE] = Field(alias="detail-type")  # type: ignore[assignment]
    detail: ClickDetail  # type: ignore[assignment]

    def command_id(self) -> str:
        """The feed command's id: the ledger event's own, so a redelivery is the same command; a replay
        that feeds again (`feed-again-...`) issues it as a new command with a new id."""
        if self.replay_name and self.replay_name.startswith(FEED_AGAIN):
            return f"{self.id}:{self.replay_name}"
        return self.id


class DeviceReport(BaseModel):
    """What the device published on its states topic, as the states rule delivers it: the device's
    JSON plus its thing (the topic's third level) and when the broker received it, in ms."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    thing: str
    state: Literal["online", "feeding", "fed", "error", "offline"]
    reported_at: Annotated[int, Field(ge=0, le=MAX_MILLIS)] = Field(alias="reportedAt")
    event: ClickType | None = None
    bowls: list[Literal["left", "right"]] | None = None
    queued: Annotated[int, Field(ge=0)] | None = None
    command: Annotated[int, Field(ge=0, le=MAX_MILLIS)] | None = None  # the reportedTime of the click served
    id: Annotated[str, StringConstraints(max_length=200)] | None = None  # the feed command's id
    repeat: bool | None = None  # a command served before, acknowledged without feeding
    error: Annotated[str, StringConstraints(max_length=500)] | None = None
    uptime_s: Annotated[int, Field(ge=0)] | None = None
    certificate_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(None, alias="certificateId")
    """The certificate the device connected with, as the broker saw it (the rule's `principal()`)."""


class FeederReport(DeviceReport):
    """A device's report as the ledger keeps it: with the feeder it came from."""

    thing: str | None = None  # type: ignore[assignment]
    feeder: FeederName


class StateEvent(EventBridgeModel):
    """A device's report on the ledger, as EventBridge delivers it."""

    detail_type: Literal[STATE_DETAIL_TYPE] = Field(alias="detail-type")  # type: ignore[assignment]
    detail: FeederReport  # type: ignore[assignment]


LedgerEvent = Annotated[ClickEvent | StateEvent, Field(discriminator="detail_type")]


class FeedCommand(BaseModel):
    """What the feeder publishes to the device: the original `{"event", "reportedTime"}`, and the
    command's id, which the device keeps so that a repeat turns no motor."""

    event: ClickType
    reportedTime: int
    id: str

