"""The one private name of pulumi-policy (pinned exactly in pyproject.toml) `conduit check` uses: the
analyzer servicer the Pulumi CLI talks to over gRPC, called here without the wire. An upgrade that
moves it fails `tests/test_pulumi_seam.py` by name."""

from __future__ import annotations

from pulumi_policy.policy import _PolicyAnalyzerServicer

# The servicer that answers the CLI's Analyze, AnalyzeStack and Configure: (name, version, policies,
# enforcement_level).
PolicyAnalyzerServicer = _PolicyAnalyzerServicer
