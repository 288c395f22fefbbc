"""What every system of a stack shares: its handler code, where alarms go, how data is kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.blocks.code import HandlerCode


@dataclass(frozen=True)
class SystemDefaults:
    """The stack-wide half of every system's arguments; each system adds only its own settings."""

    code: HandlerCode
    log_retention_days: int
    max_receive_count: int
    point_in_time_recovery: bool
    protect_data: bool
    tracing: bool = False
    alarm_topic_arn: pulumi.Input[str] | None = None

    def function(self, system: str) -> dict[str, Any]:
        """FunctionArgs fields every function of `system` gets (its archive, the layer, logs, alarms)."""
        return {"code": self.code.archive(system), "layers": [self.code.layer_arn],
                "log_retention_days": self.log_retention_days, "tracing": self.tracing,
                "alarm_topic_arn": self.alarm_topic_arn}

    def table(self) -> dict[str, Any]:
        """TableArgs fields for data the stack protects (or not)."""
        return {"point_in_time_recovery": self.point_in_time_recovery, "protect_data": self.protect_data}
