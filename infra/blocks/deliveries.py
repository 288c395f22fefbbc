"""A system's record of what its consumers have already done, keyed by each event's own identity,
so that AWS delivering an event again (at least once, never exactly once) changes nothing.

Records expire by TTL once AWS can no longer repeat the event; each consumer sizes that lifetime
from its source's redelivery window (written beside the setting in its handler).
"""

from __future__ import annotations

import pulumi

from handlers.shared.contract import DELIVERY_EXPIRY, DELIVERY_KEY
from infra.blocks.defaults import DataProtection
from infra.blocks.iam import Statement
from infra.blocks.table import Table, TableArgs

# What Powertools' DynamoDB persistence layer calls: a conditional put of the in-progress record
# (a repeat's record comes back with the refusal, ALL_OLD, so it never reads), its completion, and
# its deletion when the effect fails (tests/test_idempotency_contract.py holds it to this).
RECORDING = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]


class Deliveries(pulumi.ComponentResource):
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, protection: DataProtection, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:Deliveries", name, None, opts)
        table = Table(name, TableArgs(hash_key=DELIVERY_KEY, ttl_attribute=DELIVERY_EXPIRY, protection=protection),
                      opts=pulumi.ResourceOptions(parent=self))
        self.name, self.arn = table.name, table.arn
        self.register_outputs({"name": self.name, "arn": self.arn})

    def recording(self, actions: list[str] | None = None) -> Statement:
        """The statement a consumer needs to record and read what it has done here."""
        return Statement(actions or RECORDING, [self.arn])
