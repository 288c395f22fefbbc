"""Typed `conduit:*` stack settings, checked before any resource is declared.

A wrong setting found half-way through a deployment leaves half a stack; finding it first, and
naming every wrong key at once, costs nothing.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.systems import CAT_FEEDER, NAMES, System

NAMESPACE = "conduit"

# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)

SystemName = Literal[NAMES]  # type: ignore[valid-type]
"""Systems this program can deploy (infra/systems.py); a stack turns each on by listing it in `conduit:systems`."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StackSettingsError(pulumi.RunError):
    """A `conduit:*` setting is missing, unknown or out of range."""


def _retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of CloudWatch's retention periods {LOG_RETENTION_DAYS}")
    return days


def _email(address: str) -> str:
    if not _EMAIL.match(address):
        raise ValueError("must be an e-mail address such as oncall@example.com")
    return address


class _Settings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class MessageIngestSettings(_Settings):
    """Settings of the message ingest system (`conduit:messageIngest`)."""

    batch_size: int = Field(10, ge=1, le=10, description="SQS records per store invocation (SQS allows 10)")
    max_batching_window_seconds: int = Field(0, ge=0, le=300)
    api_rate_limit: int = Field(100, ge=1, le=10_000, description="steady requests per second")
    api_burst_limit: int = Field(200, ge=1, le=5_000)
    max_csv_bytes: int = Field(
        1024 * 1024 * 1024, ge=1024,
        description="larger files are quarantined whole; a file is read in chunks with continuations, so memory "
                    "does not grow with it: the cap only bounds what one upload may cost (1 GiB, 15M rows or so)")
    rows_per_invocation: int = Field(
        50_000, ge=100, le=1_000_000, description="CSV rows one ingest invocation reads before it hands the rest "
                                                  "of the file to the next; bounds the rejections it holds")
    store_timeout_seconds: int = Field(
        30, ge=1, le=900, description="store function timeout; the queue's visibility timeout is six times it")


class ApiSettings(_Settings):
    api_rate_limit: int = Field(100, ge=1, le=10_000, description="steady requests per second")
    api_burst_limit: int = Field(200, ge=1, le=5_000)


class UploadExtractionSettings(ApiSettings):
    """Settings of the upload extraction system (`conduit:uploadExtraction`)."""

    max_upload_bytes: int = Field(5 * 1024 * 1024, ge=1, le=200 * 1024 * 1024,
                                  description="larger uploads are quarantined unread")


class CurrencyStreamSettings(ApiSettings):
    """Settings of the currency stream system (`conduit:currencyStream`)."""

    stream_retries: int = Field(3, ge=0, le=10, description="retries of a failing stream batch before it is "
                                                               "sent to the failure queue")
    batch_size: int = Field(10, ge=1, le=100)


class ExchangeEventsSettings(ApiSettings):
    """Settings of the exchange events system (`conduit:exchangeEvents`)."""

    event_types: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")]] = Field(
        default_factory=lambda: ["buy", "sell"], min_length=1,
        description="the only types POST /event accepts; each is its own IoT topic event/<type>")
    price_threshold: Decimal = Field(Decimal(10_000), gt=0, description="a buy at or above this price is flagged")
    velocity_limit: int = Field(5, ge=1, description="buys per account per window before a buy is flagged")
    velocity_window_seconds: int = Field(60, ge=1, le=86_400)


class FeederSettings(_Settings):
    """One cat feeder: its name (topics cat-feeder/<name>/...) and its certificate's rotation."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,32}$")]
    rotation: str = Field("1", min_length=1, max_length=32,
                          description="change it to replace the device certificate (new one first)")


class CatFeederSettings(ApiSettings):
    """Settings of the cat feeder system (`conduit:catFeeder`)."""

    feeders: list[FeederSettings] = Field(min_length=1)
    default_feeder: str | None = Field(None, description="fed by original 1-Click events that name no feeder "
                                                         "(default: the first feeder)")
    archive_retention_days: int = Field(30, ge=0, le=3650, description="0 keeps the ledger forever")

    @field_validator("feeders")
    @classmethod
    def _unique(cls, feeders: list[FeederSettings]) -> list[FeederSettings]:
        names = [f.name for f in feeders]
        if len(set(names)) != len(names):
            raise ValueError(f"feeder names must be unique, got {names}")
        return feeders

    @model_validator(mode="after")
    def _default_feeder_is_a_feeder(self) -> CatFeederSettings:
        names = [f.name for f in self.feeders]
        if self.default_feeder is not None and self.default_feeder not in names:
            raise ValueError(f"defaultFeeder {self.default_feeder!r} is not one of the feeders {names}")
        return self

    @property
    def fallback_feeder(self) -> str:
        return self.default_feeder or self.feeders[0].name


class StackSettings(_Settings):
    """Every `conduit:*` key a stack may set."""

    systems: list[SystemName] = Field(min_length=1)
    log_retention_days: Annotated[int, AfterValidator(_retention)] = 30
    alarm_email: Annotated[str, AfterValidator(_email)] | None = None
    dlq_max_receive_count: int = Field(5, ge=1, le=1000)
    point_in_time_recovery: bool = True
    protect_data: bool = True
    tracing: bool = False
    message_ingest: MessageIngestSettings = MessageIngestSettings()
    upload_extraction: UploadExtractionSettings = UploadExtractionSettings()
    currency_stream: CurrencyStreamSettings = CurrencyStreamSettings()
    exchange_events: ExchangeEventsSettings = ExchangeEventsSettings()
    cat_feeder: CatFeederSettings | None = None

    @model_validator(mode="after")
    def _systems_have_their_settings(self) -> StackSettings:
        if CAT_FEEDER.name in self.systems and self.cat_feeder is None:
            raise ValueError("conduit:catFeeder must list the feeders when cat-feeder is among the systems")
        return self

    def enabled(self, system: SystemName) -> bool:
        return system in self.systems

    def for_system(self, system: System) -> _Settings | None:
        """The `conduit:<key>` settings object of one system."""
        return getattr(self, system.settings_field)


def _decode(raw: Any) -> Any:
    """Pulumi hands structured values to the program as JSON text; plain values stay strings."""
    if isinstance(raw, str) and raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _describe(error: dict[str, Any]) -> str:
    key = f"{NAMESPACE}:" + ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"{key}: required but not set; add it to Pulumi.<stack>.yaml"
    if error["type"] == "extra_forbidden":
        where, model = _model_at(error["loc"][:-1])
        allowed = ", ".join(sorted(f.alias or to_camel(n) for n, f in model.model_fields.items()))
        return f"{key}: unknown setting (value {error['input']!r}); known settings {where}: {allowed}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key} = {error['input']!r}: {message}"


def _model_at(location: tuple[Any, ...]) -> tuple[str, type[BaseModel]]:
    """The settings model that holds the keys at `location` (its parent's path), and where that is,
    so an unknown key is answered with its siblings, not the top level's keys."""
    model: type[BaseModel] = StackSettings
    path = [NAMESPACE]
    for part in location:
        if isinstance(part, int):  # an item of a list (catFeeder.feeders[0]): the list's item model
            path[-1] += f"[{part}]"
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        inner = _settings_model(field.annotation) if field else None
        if inner is None:
            break
        model, path = inner, [*path, str(part)]
    return ("at the top level" if len(path) == 1 else f"in {':'.join(path[:2])}{'.'.join(['', *path[2:]])}"), model


def _settings_model(annotation: Any) -> type[BaseModel] | None:
    """The settings model an annotation holds (`CatFeederSettings | None`, `list[FeederSettings]`)."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, _Settings):
            return candidate
        inner = getattr(candidate, "__args__", ())
        found = next((c for c in inner if isinstance(c, type) and issubclass(c, _Settings)), None)
        if found:
            return found
    return None


def parse_settings(values: dict[str, Any]) -> StackSettings:
    """Validate raw `conduit:*` values (keys without the namespace), raising one error for all faults."""
    try:
        return StackSettings.model_validate({key: _decode(value) for key, value in values.items()})
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(error)}" for error in exc.errors())
        raise StackSettingsError(
            f"stack '{pulumi.get_stack()}' has {exc.error_count()} invalid setting(s):\n{lines}"
        ) from None


def _raw_stack_values() -> dict[str, Any]:
    """Every `conduit:*` key the engine passed, whether or not this program knows it."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix): value for key, value in merged.items() if key.startswith(prefix)}


def load_settings() -> StackSettings:
    """Read and validate the current stack's settings."""
    return parse_settings(_raw_stack_values())
