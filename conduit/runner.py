"""Start a program run in the project's virtualenv and read its result."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from conduit.project import load_project, load_stack

# The program runs in the project's own virtualenv, which need not have Conduit installed.
CONDUIT_ROOT = Path(__file__).resolve().parents[1]


class ProgramError(RuntimeError):
    """The program failed: a configuration error, or an exception in the program itself."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


DEFAULT_TIMEOUT_SECONDS = 120.0
MODES = ("preview", "unknowns", "local")


def run_stack(
    project_dir: Path, stack: str, mode: str = "preview", env: dict[str, str] | None = None,
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Run `stack` of the project in `project_dir`; returns the recorded resources and outputs.

    `mode`: `preview` (every output plausible), `unknowns` (as `pulumi preview` of a new stack:
    only inputs known) or `local` (created for real on the local cloud).
    """
    project = load_project(project_dir)
    load_stack(project, stack)  # fail early, in this process, on a missing or malformed stack file
    with tempfile.TemporaryDirectory(prefix="conduit-run-") as scratch:
        out = Path(scratch) / "run.json"
        child_env = {**os.environ, **(env or {})}
        child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CONDUIT_ROOT), child_env.get("PYTHONPATH")]))
        command = [project.python(), "-m", "conduit.child", "--project-dir", str(project.directory),
                   "--stack", stack, "--mode", mode, "--out", str(out)]
        try:
            result = subprocess.run(command, env=child_env, capture_output=True, text=True, check=False,
                                    timeout=timeout_seconds)
        except subprocess.TimeoutExpired as exc:
            raise ProgramError(f"the program for stack '{stack}' did not finish within {timeout_seconds:.0f} s; it may "
                               "wait on a value no offline engine gives, or simply need longer (--timeout)",
                               (exc.stderr or b"")[-4000:].decode(errors="replace")
                               if isinstance(exc.stderr, bytes) else (exc.stderr or "")) from None
        if not out.exists():
            raise ProgramError(f"the program for stack '{stack}' did not finish (exit {result.returncode})",
                               result.stderr[-4000:])
        document = json.loads(out.read_text())
    if "error" in document:
        raise ProgramError(document["error"], document.get("traceback", "") or result.stderr[-4000:])
    return document
