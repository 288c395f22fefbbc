"""Read policy documents and resource properties the way the pack's validators need them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def plain(value: Any) -> Any:
    """Resource properties arrive wrapped in pulumi-policy's proxies; validators want plain data."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or (isinstance(value, Sequence) and not isinstance(value, str | bytes)):
        return [plain(v) for v in value]
    return value


class Props:
    """A resource's properties read one key at a time.

    Only what a validator asks for is touched, so a value that is unknown during a preview stops
    only the validators that need it (pulumi-policy raises UnknownValueError for those).
    """

    def __init__(self, props: Any):
        self._props = props

    def get(self, key: str, default: Any = None) -> Any:
        value = self._props.get(key)
        return default if value is None else plain(value)

    def __getitem__(self, key: str) -> Any:
        return plain(self._props[key])

    def at(self, *path: str) -> Any:
        """The value at `path` (`at("target", "deadLetterConfig")`), reading only that path: a value
        unknown elsewhere in `target` (its `arn`, in a preview) does not stop the read. A step
        through JSON text (`redrivePolicy`) reads the text."""
        value = self._props
        for key in path:
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    return None
            if not hasattr(value, "get"):
                return None
            value = value.get(key)
        return None if value is None else plain(value)

    def __contains__(self, key: str) -> bool:
        return key in self._props


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class PolicyStatement:
    effect: str
    actions: list[str]
    not_actions: list[str]
    resources: list[str]
    not_resources: list[str]
    sid: str | None

    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else "a statement"


def statements_of(document: Any) -> list[dict[str, Any]]:
    """The raw statements of a policy document (JSON text or an object), principals and conditions
    included; [] when it is not a policy document."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return []
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def parse_document(document: Any) -> list[PolicyStatement]:
    """Statements of an IAM policy given as JSON text or as an object; [] when not a policy."""
    return [
        PolicyStatement(
            effect=str(s.get("Effect", "")),
            actions=[str(a) for a in as_list(s.get("Action"))],
            not_actions=[str(a) for a in as_list(s.get("NotAction"))],
            resources=[str(r) for r in as_list(s.get("Resource"))],
            not_resources=[str(r) for r in as_list(s.get("NotResource"))],
            sid=s.get("Sid"),
        )
        for s in statements_of(document)
    ]


# Identity policy documents by resource type: where each type keeps its document(s).
IDENTITY_POLICY_PROPERTIES = {
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
}


def identity_documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, document) for every identity policy a resource declares."""
    for key in IDENTITY_POLICY_PROPERTIES.get(resource_type, ()):
        if props.get(key) is not None:
            yield key, props[key]
    if resource_type == "aws:iam/role:Role":
        for n, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and inline.get("policy"):
                yield f"inlinePolicies[{n}] ({inline.get('name', '')})", inline["policy"]


def only(*resource_types: str) -> Any:
    """Restrict a resource validator to some resource types."""

    def wrap(validate: Any) -> Any:
        def validate_of_type(args: Any, report_violation: Any) -> None:
            if args.resource_type in resource_types:
                validate(args, report_violation)

        validate_of_type.__doc__ = validate.__doc__
        return validate_of_type

    return wrap


# Services whose ARNs name the resource without a type before it (arn:aws:sqs:r:a:queue-name).
UNTYPED_ARNS = frozenset({"s3", "sqs", "sns"})


def every_resource_of_type(resource: str) -> bool:
    """`*`, or an ARN matching every resource of its type in an account: `arn:aws:logs:*:*:*`,
    `...:function:*`, `...:secret:*`, `...:user/*`, `...:table/*`, `arn:aws:s3:::*/*`."""
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    rest = parts[5]
    if rest in ("*", "*/*"):
        return True
    if parts[2] in UNTYPED_ARNS:  # `bucket/*` is one bucket's objects, `queue-name` one queue
        return False
    return bool(re.fullmatch(r"[A-Za-z0-9_.-]+[:/]\*", rest))
