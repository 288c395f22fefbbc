"""Provider settings in a stack file checked against the provider's own list of them.

A misspelled `aws:regoin` is not an error to YAML or to the offline engine, and the program then
previews in the default region. Each Pulumi provider's Python SDK declares its configuration keys
in `pulumi_<provider>/config/vars.py` (one `__config__.get...('<key>')` per key): a key it does not
declare is named, with the nearest one it does. A warning, not a refusal: an older provider
version may know a key this one dropped.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
from pathlib import Path

_DECLARED = re.compile(r"__config__\.get\w*\(\s*'([A-Za-z0-9_]+)'")


@functools.cache
def provider_keys(provider: str) -> frozenset[str] | None:
    """The keys `provider` declares, or None when its SDK is not installed here."""
    try:
        spec = importlib.util.find_spec(f"pulumi_{provider.replace('-', '_')}")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    variables = Path(next(iter(spec.submodule_search_locations))) / "config" / "vars.py"
    if not variables.exists():
        return None
    return frozenset(_DECLARED.findall(variables.read_text()))


def unknown_provider_keys(values: dict[str, str], project: str) -> list[str]:
    """One warning per `provider:key` of the stack the provider does not declare."""
    warnings = []
    for full_key in sorted(values):
        provider, _, key = full_key.partition(":")
        if not key or provider in (project, "pulumi") or ":" in key:
            continue
        known = provider_keys(provider)
        if known is None or key in known:
            continue
        nearest = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.7)
        hint = f"; did you mean {provider}:{nearest[0]}?" if nearest else ""
        warnings.append(f"{full_key} is not a setting of the {provider} provider (pulumi_{provider}){hint}")
    return warnings
