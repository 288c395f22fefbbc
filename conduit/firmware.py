"""The firmware's manifest (firmware/manifest.py), read the way MicroPython's tools read theirs:
the file calls directives (`metadata`, `module`, ...) that collect what it declares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware"


@dataclass
class Manifest:
    metadata: dict[str, Any] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    host_only: list[str] = field(default_factory=list)
    pins: dict[str, list[int]] = field(default_factory=dict)
    settings: dict[str, bool] = field(default_factory=dict)
    """setting name -> required"""

    @property
    def board_modules(self) -> list[str]:
        return [m for m in self.modules if m not in self.host_only]

    @property
    def required_settings(self) -> list[str]:
        return [name for name, required in self.settings.items() if required]


def read_manifest(folder: Path = FIRMWARE) -> Manifest:
    manifest = Manifest()

    def module(name: str, host_only: bool = False) -> None:
        manifest.modules.append(name)
        if host_only:
            manifest.host_only.append(name)

    directives = {
        "metadata": lambda **fields: manifest.metadata.update(fields),
        "module": module,
        "pins": lambda **wiring: manifest.pins.update(wiring),
        "setting": lambda name, required=True: manifest.settings.__setitem__(name, required),
    }
    exec(compile((folder / "manifest.py").read_text(), str(folder / "manifest.py"), "exec"), directives)
    return manifest
