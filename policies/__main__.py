"""The policy pack the Pulumi CLI runs: `pulumi preview --policy-pack policies`.

The folder stands alone: `conduit_policies` (beside this file) holds every policy, and
requirements.txt what they need, so `pulumi policy publish policies` ships a pack that loads.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from conduit_policies.pack import NAME, POLICIES

PolicyPack(name=NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
