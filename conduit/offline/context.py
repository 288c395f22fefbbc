"""What one offline run learns while the program runs, kept for that run alone (no module state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Fields of a data source's result that hold content a program may parse (an SSM parameter's value,
# an S3 object's body).
CONTENT_FIELDS = {"value", "body", "insecurevalue", "content", "plaintext", "secretbinary"}


@dataclass
class RunContext:
    """Shared by the fake cloud and the engine's answers by name during one run."""

    dynamic_outputs: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """Outputs a program's own dynamic resource declares (props given as None), by (type, name): only
    the program knows them, and only its provider's `create`, which never runs offline, makes them."""
    made_content: set[str] = field(default_factory=set)
    """Content strings a data source's answer made up: a program's `json.loads` of one gets a document
    answering every key by name instead of a JSONDecodeError."""

    def remember_content(self, result: dict[str, Any]) -> None:
        self.made_content.update(v for k, v in result.items() if k.lower() in CONTENT_FIELDS and isinstance(v, str))
