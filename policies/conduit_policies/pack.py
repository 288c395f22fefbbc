"""Every policy of the pack, in one list, so the CLI's analyzer and `conduit check` share it."""

from __future__ import annotations

from conduit_policies import advisory, dead_letters, deployability, iam, iot_devices, principals, serverless

NAME = "conduit"
VERSION = "0.3.1"
POLICIES = [*iam.POLICIES, *principals.POLICIES, *dead_letters.POLICIES, *iot_devices.POLICIES, *deployability.POLICIES,
            *serverless.POLICIES,
            *advisory.POLICIES]
