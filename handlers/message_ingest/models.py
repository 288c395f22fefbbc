"""The reading a CSV row carries, and how it is keyed in the table."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, ConfigDict, Field, Json, StringConstraints, model_validator

from handlers.shared.numbers import StorableDecimal

CSV_COLUMNS = ("timestamp", "location", "source", "local_dest", "local_avg", "remote_dest", "remote_avg")
KEY_SEPARATOR = "@"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^@]+$")]
Average = Annotated[StorableDecimal, Field(allow_inf_nan=False, max_digits=20)]
# DynamoDB's limit for a sort key: the `time` key part (UTC time, microseconds, `@`, the location).
MAX_RANGE_KEY_BYTES = 1024
TIME_KEY = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{6}@[^@]+", re.ASCII)


class Measurements(BaseModel):
    """What a reading says, apart from when and where: the part an API `PUT` may change."""

    model_config = ConfigDict(extra="forbid")

    source: Name
    local_dest: Name
    local_avg: Average
    remote_dest: Name
    remote_avg: Average


class Reading(Measurements):
    """One row of an ingested CSV file (or one `POST /message` body)."""

    timestamp: Annotated[StorableDecimal, Field(gt=0, lt=Decimal("253402300800"), allow_inf_nan=False)]
    location: Name

    def key(self) -> dict[str, str]:
        """`date` and `time` in UTC; `time` keeps microseconds and the location, so two readings
        in the same second (or at the same instant in two places) never overwrite each other."""
        seconds = int(self.timestamp)
        micros = int((self.timestamp - seconds) * 1_000_000)
        moment = datetime.fromtimestamp(seconds, tz=UTC)
        return {
            "date": moment.strftime("%Y-%m-%d"),
            "time": f"{moment:%H:%M:%S}.{micros:06d}{KEY_SEPARATOR}{self.location}",
        }

    def item(self) -> dict[str, object]:
        """The DynamoDB item: keys plus every field, numbers kept exact as Decimal."""
        return {**self.key(), **self.model_dump()}


class Origin(BaseModel):
    """Where a queued reading came from, so a failure can be traced to its file and line, and what
    makes it this delivery's own: the object's version as S3's event named it (its `sequencer`,
    the same on every redelivery of one upload, another on the next upload of that key)."""

    bucket: str
    key: str
    line: int
    version: str = ""

    def identity(self) -> str:
        """The row's identity across every redelivery: file, upload, line."""
        return f"s3://{self.bucket}/{self.key}#{self.version}:{self.line}"


class QueuedReading(BaseModel):
    """The body of an SQS message between the ingest and store functions."""

    model_config = ConfigDict(extra="forbid")

    reading: Reading
    origin: Origin


class QueuedReadingRecord(SqsRecordModel):
    """An SQS record whose body is a queued reading: Powertools' batch processor parses it."""

    body: Json[QueuedReading]  # type: ignore[assignment]


def time_key_problem(time: str) -> str | None:
    """Why `time` cannot be the range key of a stored reading, or None."""
    if len(time.encode()) > MAX_RANGE_KEY_BYTES:
        return f"time is {len(time.encode())} bytes; a key part holds at most {MAX_RANGE_KEY_BYTES}"
    if not TIME_KEY.fullmatch(time):
        return f"time {time[:80]!r} is not HH:MM:SS.ffffff@location, e.g. 10:55:09.385333@location-03"
    return None


def from_original_item(item: object) -> dict[str, object]:
    """A `POST /message` body of the original project, `{"Item": {"date", "time", "location", ...}}`,
    as this API's reading: `date` and `time` (UTC, seconds or finer) become the timestamp."""
    if not isinstance(item, dict):
        raise ValueError("Item must be an object of the reading's fields")
    reading = {k: v for k, v in item.items() if k in CSV_COLUMNS}
    if "timestamp" not in reading:
        try:
            moment = datetime.fromisoformat(f"{item['date']}T{item['time']}").replace(tzinfo=UTC)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("Item needs a timestamp, or a date (YYYY-MM-DD) and a time (HH:MM:SS[.ffffff])") from exc
        reading["timestamp"] = Decimal(int(moment.timestamp())) + Decimal(moment.microsecond) / 1_000_000
    return reading


class PostedReading(Reading):
    """A `POST /message` body: a reading, or the original project's `{"Item": {...}}`."""

    @model_validator(mode="before")
    @classmethod
    def _from_original(cls, data: object) -> object:
        if isinstance(data, dict) and set(data) == {"Item"}:
            return from_original_item(data["Item"])
        return data


class Change(Measurements):
    """A `PUT /message/{date}?time=...` body: the new measurements as JSON fields."""

    @model_validator(mode="before")
    @classmethod
    def _no_raw_expressions(cls, data: object) -> object:
        if isinstance(data, dict) and ({"UpdateExpression", "ExpressionAttributeValues"} & set(data)):
            raise ValueError("raw DynamoDB expressions are not accepted: send the new values as JSON fields, "
                             '{"source", "local_dest", "local_avg", "remote_dest", "remote_avg"}')
        return data
