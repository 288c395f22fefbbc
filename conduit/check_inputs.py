"""What a check needs before its program runs, light enough to load before it: the pack's data
installed, and the stack's policy config read. `conduit check` loads the pack itself (pulumi-policy
and every policy module) while the program runs; see `conduit.commands.check`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any


class PolicyConfigError(ValueError):
    """The policy configuration file is malformed."""


class PackDataError(RuntimeError):
    """Data a policy of the pack reads is not installed (it comes with the `check` extra)."""


# Packages of the `check` extra the pack itself reads (not only programs): the name to import, what for.
PACK_DATA = {"cfnlint": "AWS's Lambda runtime lifecycle, which lambda-deprecated-runtime judges by",
             "moto": "the documents of AWS-managed policies, which attached policies are judged by"}


def require_pack_data() -> None:
    """Refuse up front, naming the fix, rather than let a policy fail half-way through a check."""
    missing = [f"{name} ({why})" for name, why in PACK_DATA.items() if importlib.util.find_spec(name) is None]
    if missing:
        raise PackDataError(f"the policy pack needs {', '.join(missing)}, which the main job's environment leaves "
                            "out: run make install-all, or pip install -e '.[check]'")


def load_policy_config(path: Path | None) -> dict[str, Any]:
    """Pulumi's policy-pack config format: {"policy": "advisory"} or {"policy": {"enforcementLevel": ...}}."""
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PolicyConfigError(f"policy config {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyConfigError(f"policy config {path}: expected an object of policy names")
    return document
