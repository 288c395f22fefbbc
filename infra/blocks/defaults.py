"""What every system of a stack shares, as typed values the building blocks take whole: how its
functions are built and observed, and how its data is kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.blocks.code import HandlerCode
from infra.systems import System


@dataclass(frozen=True)
class FunctionDefaults:
    """The stack-wide half of every function's arguments: its code, the layer, logs, tracing, alarms."""

    code: pulumi.Input[pulumi.Archive]
    layers: Sequence[pulumi.Input[str]]
    log_retention_days: int
    tracing: bool = False
    alarm_topic_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class DataProtection:
    """How a stack keeps its data: point-in-time recovery, and retention with deletion protection."""

    point_in_time_recovery: bool = True
    protect_data: bool = True


@dataclass(frozen=True)
class SystemDefaults:
    """What the stack's settings give every system; each system adds only its own settings."""

    code: HandlerCode
    log_retention_days: int
    max_receive_count: int
    data: DataProtection
    tracing: bool = False
    alarm_topic_arn: pulumi.Input[str] | None = None

    def functions(self, system: System) -> FunctionDefaults:
        """The defaults of every function of `system`: its own archive, the shared layer, logs, alarms."""
        return FunctionDefaults(code=self.code.archive(system.package), layers=[self.code.layer_arn],
                                log_retention_days=self.log_retention_days, tracing=self.tracing,
                                alarm_topic_arn=self.alarm_topic_arn)
