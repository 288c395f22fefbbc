"""Every policy of the pack, in one list, so the CLI's analyzer and `conduit check` share it."""

from __future__ import annotations

from conduit_policies import (
            advisory,
            attack_paths,
            dead_letters,
            deployability,
            iam,
            iot_devices,
            principals,
            serverless,
)
from conduit_policies.registry import register

NAME = "conduit"
VERSION = "0.3.1"
RULES = register(iam.POLICIES, attack_paths.POLICIES, principals.POLICIES, dead_letters.POLICIES,
                 iot_devices.POLICIES, deployability.POLICIES, serverless.POLICIES, advisory.POLICIES)
POLICIES = [rule.policy() for rule in RULES]
FIXES = {rule.name: rule.fix for rule in RULES}
