"""Start a program run in the project's virtualenv and read its result."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from conduit.offline.hermetic import sealed_environment
from conduit.project import load_project, load_stack
from conduit.run_record import RunRecord

# The program runs in the project's own virtualenv, which need not have Conduit installed.
CONDUIT_ROOT = Path(__file__).resolve().parents[1]


class ProgramError(RuntimeError):
    """The program failed: a configuration error, or an exception in the program itself."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


DEFAULT_TIMEOUT_SECONDS = 120.0


class Mode(StrEnum):
    """What a run's resource outputs are; the value is the child's `--mode`."""

    PLAUSIBLE = "plausible"  # made up, of the shape AWS gives (`conduit preview`, `conduit check`)
    UNKNOWN = "unknown-outputs"  # not known yet, as `pulumi preview` of a new stack (`--preview`)
    LOCAL = "local"  # created for real on the local cloud


# The child's progress lines on stderr: `<mark><done> <registered>`.
PROGRESS_MARK = "\x1econduit-progress "


def _child_environment(env: dict[str, str] | None, sealed: bool) -> dict[str, str]:
    child_env = {**os.environ, **(env or {})}
    if sealed:  # the child seals itself too; it starts with no way into a cloud either
        child_env = sealed_environment(child_env)
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CONDUIT_ROOT), child_env.get("PYTHONPATH")]))
    return child_env


def _read_record(out: Path, stack: str, returncode: int, stderr: str) -> RunRecord:
    if not out.exists():
        raise ProgramError(f"the program for stack '{stack}' did not finish (exit {returncode})", stderr[-4000:])
    document = json.loads(out.read_text())
    if "error" in document:
        raise ProgramError(document["error"], document.get("traceback", "") or stderr[-4000:])
    return RunRecord.from_json(document)


def run_stack(
    project_dir: Path, stack: str, mode: Mode = Mode.PLAUSIBLE, env: dict[str, str] | None = None,
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS, progress: Callable[[int, int], None] | None = None,
) -> RunRecord:
    """Run `stack` of the project in `project_dir`; returns the recorded resources and outputs.

    `mode` says what the outputs are (see `Mode`). `progress(done,
    registered)` hears of each resource as the program registers it and as it is done.
    """
    project = load_project(project_dir)
    load_stack(project, stack)  # fail early, in this process, on a missing or malformed stack file
    with tempfile.TemporaryDirectory(prefix="conduit-run-") as scratch:
        out = Path(scratch) / "run.json"
        command = [project.python(), "-m", "conduit.child", "--project-dir", str(project.directory),
                   "--stack", stack, "--mode", Mode(mode).value, "--out", str(out),
                   *(["--progress"] if progress else [])]
        returncode, stderr = _run_child(command, _child_environment(env, mode is not Mode.LOCAL), timeout_seconds,
                                        progress, stack)
        return _read_record(out, stack, returncode, stderr)


@dataclass(frozen=True)
class OfflineRun:
    """One run of a batch: a stack of a project, offline."""

    project_dir: Path
    stack: str
    mode: Mode = Mode.PLAUSIBLE


def run_stacks(runs: Sequence[OfflineRun], children: int = 1,
               timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS) -> list[RunRecord | ProgramError]:
    """Every run of `runs`, in order: its record, or the error its program ended with.

    A child Python pays for importing the SDKs once and then runs program after program, so many
    small runs (a policy's test cases, a fleet of fixtures) cost little more than their programs;
    `children` processes share the runs. All runs use the first project's Python; the timeout is a
    run's, so a child may take it once per run it makes, and a run that hangs past its child's time
    leaves the runs after it in that child unfinished (each an error saying so).
    """
    if not runs:
        return []
    python = load_project(runs[0].project_dir).python()
    for run in runs:
        if run.mode is Mode.LOCAL:
            raise ValueError("a batch holds offline runs only: the local cloud deploys one stack at a time")
        load_stack(load_project(run.project_dir), run.stack)
    with tempfile.TemporaryDirectory(prefix="conduit-runs-") as scratch:
        outs = [Path(scratch) / f"run-{i}.json" for i in range(len(runs))]
        count = max(1, min(children, len(runs)))  # no child without a run to make
        shares = [list(range(len(runs)))[k::count] for k in range(count)]

        def batch(k: int, share: list[int]) -> tuple[int, str]:
            listing = Path(scratch) / f"batch-{k}.json"
            listing.write_text(json.dumps([{"projectDir": str(runs[i].project_dir), "stack": runs[i].stack,
                                            "mode": runs[i].mode.value, "out": str(outs[i])} for i in share]))
            command = [python, "-m", "conduit.child", "--batch", str(listing)]
            budget = None if timeout_seconds is None else timeout_seconds * len(share)
            try:
                return _run_child(command, _child_environment(None, sealed=True), budget, None, "batch")
            except ProgramError as error:  # out of time: each run it had not finished says so
                return -9, f"{error}\n{error.details}"

        with ThreadPoolExecutor(max_workers=len(shares)) as pool:
            ended = list(pool.map(batch, range(len(shares)), shares))
        results: list[RunRecord | ProgramError] = []
        for i, run in enumerate(runs):
            returncode, stderr = ended[i % count]  # run i went to child i mod count
            try:
                results.append(_read_record(outs[i], run.stack, returncode, stderr))
            except ProgramError as error:
                results.append(error)
        return results


def _run_child(command: list[str], env: dict[str, str], timeout_seconds: float | None,
               progress: Callable[[int, int], None] | None, stack: str) -> tuple[int, str]:
    """Run the child to its end (or its timeout, which kills it); its exit code and stderr, with the
    progress lines handed to `progress` as they arrive instead."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    kept: list[str] = []
    reader = threading.Thread(target=_read_stderr, args=(process.stderr, kept, progress), daemon=True)
    reader.start()
    try:
        returncode = process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        reader.join(timeout=5)
        raise ProgramError(f"the program for stack '{stack}' did not finish within {timeout_seconds:.0f} s; it may "
                           "wait on a value no offline engine gives, or simply need longer (--timeout)",
                           "".join(kept)[-4000:]) from None
    reader.join()
    return returncode, "".join(kept)


def _read_stderr(stream: IO[str] | None, kept: list[str], progress: Callable[[int, int], None] | None) -> None:
    for line in stream or ():
        if progress is not None and line.startswith(PROGRESS_MARK):
            done, registered = line[len(PROGRESS_MARK):].split()
            progress(int(done), int(registered))
        else:
            kept.append(line)
