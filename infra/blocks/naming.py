"""Physical names: `conduit-<stack>-<name>`, made valid for each AWS resource type's own rules.

AWS refuses a name that is too long or uses a character its type does not allow (an IoT rule
name has no `-`; a bucket is lower case). A stack name is the user's, so every name is fitted to
its type here: characters the type refuses are replaced, and a name over the type's limit is cut
and given a short hash of the whole, so it stays readable, unique and stable across runs.
"""

from __future__ import annotations

import hashlib
import re

import pulumi

from conduit_policies.aws_names import RULES

# Characters each type refuses are replaced with its separator: `_` where `-` is refused.
SEPARATORS = {"iot-rule": "_"}

HASH_LENGTH = 8


def fit(name: str, kind: str) -> str:
    """`name` made valid for resource type `kind` (policies/aws_names.py holds AWS's rules)."""
    rule, separator = RULES[kind], SEPARATORS.get(kind, "-")
    text = name.lower() if rule.lower else name
    allowed = rule.allowed.replace(".", "") if kind == "bucket" else rule.allowed  # periods break TLS names
    text = re.sub(f"[^{allowed}]", separator, text)
    if kind == "bucket":
        text = re.sub(r"-+", "-", text).strip("-")
    if len(text) <= rule.max_length:
        return text
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LENGTH]
    head = text[:rule.max_length - HASH_LENGTH - 1].rstrip(separator)
    return f"{head}{separator}{digest}"


def physical_name(*parts: str, kind: str) -> str:
    """A name unique per stack, readable in the AWS console, valid for resource type `kind`."""
    return fit("-".join(("conduit", pulumi.get_stack(), *parts)), kind)
