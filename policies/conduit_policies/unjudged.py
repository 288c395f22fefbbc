"""Resources a policy could not judge because a value it needs is not known yet.

Under `pulumi preview` of resources not yet created, outputs are unknown. A policy that needs one
skips that resource alone and notes it here, instead of letting pulumi-policy skip the whole
policy; `conduit check --preview` lists what was noted. Missing settings (no redrive, no DLQ) and
literal documents are known, so they are still judged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pulumi_policy.proxy import UnknownValueError

T = TypeVar("T")
NOTED: list[dict[str, str]] = []


class Unknown(Exception):
    """A value a validator needs is not known yet."""

    def __init__(self, urn: str, path: str):
        super().__init__(f"{urn}: {path}")
        self.urn, self.path = urn, path


def note(policy: str, urn: str, path: str) -> None:
    entry = {"policy": policy, "urn": urn, "path": path}
    if entry not in NOTED:
        NOTED.append(entry)


def drain() -> list[dict[str, str]]:
    """What was noted since the last drain."""
    taken = list(NOTED)
    NOTED.clear()
    return taken


def judged(policy: str, urn: str, check: Callable[[], T]) -> T | None:
    """`check()`, or None (noted as unjudged) when it needs a value that is unknown."""
    try:
        return check()
    except Unknown as exc:
        note(policy, exc.urn or urn, exc.path)
    except UnknownValueError as exc:
        note(policy, urn, "." + ".".join(str(p) for p in exc.props))
    return None


def as_unknown(exc: UnknownValueError, urn: str, prefix: str = "") -> Unknown:
    return Unknown(urn, ".".join(filter(None, [prefix, *(str(p) for p in exc.props)])))


def known_or_none(read: Callable[[], Any]) -> Any:
    """`read()`, or None when what it reads is unknown (for lookups across resources)."""
    try:
        return read()
    except (Unknown, UnknownValueError):
        return None


def is_set(read: Callable[[], Any]) -> bool:
    """Whether a setting is there: a value not known yet is there too (it is set to an output)."""
    try:
        return bool(read())
    except (Unknown, UnknownValueError):
        return True
