"""The policy pack the Pulumi CLI runs: `pulumi preview --policy-pack policies`."""

import sys
from pathlib import Path

# The CLI runs this file from policies/; make the project root importable as it is under conduit.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import NAME, POLICIES

PolicyPack(name=NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
