"""The documents of every AWS-managed policy, so an attachment is judged by what it grants rather
than by its name.

The catalogue is moto's (`moto.iam.aws_managed_policies`: the default version of each of AWS's
managed policies, scraped from AWS by moto's maintainers), pinned exactly in requirements.txt because
it is read here by its module path. Refreshing it is upgrading that pin (`make lock`);
tests/test_managed_policies.py holds the seam to its shape.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from typing import Any

CATALOGUE_MODULE = "moto.iam.aws_managed_policies"  # read when first needed: `conduit check`'s extra ships it

AWS_MANAGED_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::aws:policy/(?P<path>(?:[^*]+/)?)(?P<name>[A-Za-z0-9+=,.@_-]+)")


@functools.cache
def catalogue() -> dict[str, dict[str, Any]]:
    """Policy name -> {"Document", "Path", "DefaultVersionId", ...}."""
    return json.loads(importlib.import_module(CATALOGUE_MODULE).aws_managed_policies_data)


def managed_document(arn: str) -> dict[str, Any] | None:
    """The document of an AWS-managed policy ARN in any partition; None when AWS has no such policy
    (a path that does not match the policy's own is no such policy either)."""
    match = AWS_MANAGED_ARN.fullmatch(arn)
    if not match:
        return None
    entry = catalogue().get(match["name"])
    if entry is None or entry.get("Path", "/") != "/" + match["path"]:
        return None
    return entry["Document"]
