"""Resources a policy could not judge because a value it needs is not known yet.

Under `pulumi preview` of resources not yet created, outputs are unknown. A policy that needs one
skips that resource alone and notes it, instead of letting pulumi-policy skip the whole policy;
`conduit check --preview` collects the notes of its own judgement (a context variable, not module
state: under the Pulumi CLI nobody collects and nothing piles up). Missing settings (no redrive, no
DLQ) and literal documents are known, so they are still judged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from pulumi_policy.proxy import UnknownValueError

from conduit_policies.registry import running

T = TypeVar("T")
_NOTES: ContextVar[list[dict[str, str]] | None] = ContextVar("conduit_unjudged", default=None)


class Unknown(Exception):
    """A value a validator needs is not known yet."""

    def __init__(self, urn: str, path: str):
        super().__init__(f"{urn}: {path}")
        self.urn, self.path = urn, path


def note(urn: str, path: str) -> None:
    """`urn` left unjudged by the running policy: the value at `path` is unknown."""
    notes, entry = _NOTES.get(), {"policy": running(), "urn": urn, "path": path}
    if notes is not None and entry not in notes:
        notes.append(entry)


@contextlib.contextmanager
def collecting() -> Iterator[list[dict[str, str]]]:
    """The notes of the validators run inside the block, and only theirs."""
    notes: list[dict[str, str]] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def judged(urn: str, check: Callable[[], T]) -> T | None:
    """`check()`, or None (noted as unjudged) when it needs a value that is unknown."""
    try:
        return check()
    except Unknown as exc:
        note(exc.urn or urn, exc.path)
    except UnknownValueError as exc:
        note(urn, "." + ".".join(str(p) for p in exc.props))
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
