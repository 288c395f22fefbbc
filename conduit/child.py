"""Runs inside the project's own virtualenv: one program run, written as JSON for the parent."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import rpc

from conduit.offline.cloud import FakeCloud
from conduit.offline.context import RunContext
from conduit.offline.engine import is_secret, run_program
from conduit.offline.hermetic import OfflineRefusal, Seal
from conduit.project import load_project, load_stack
from conduit.run_record import MASK, Secret
from conduit.runner import PROGRESS_MARK, Mode


def plain(value: Any, keep_secrets: bool = False) -> Any:
    """Inputs and outputs as the record holds them: archives and assets by their path, resources by
    URN, and secrets masked as a preview shows them, or with `keep_secrets` (the local cloud's own
    record, which flashing needs) kept as `Secret`s, marked."""
    if isinstance(value, dict):
        if is_secret(value):
            return Secret(plain(value.get("value"), True)) if keep_secrets else MASK
        # A dynamic resource's pickled provider is code, not configuration: name it, do not print it.
        return {str(k): "(pickled dynamic provider)" if k == "__provider" else plain(v, keep_secrets)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, keep_secrets) for v in value]
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"path": value.path}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {k: plain(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, Unknown):
        return rpc.UNKNOWN  # the wire's sentinel, which pulumi-policy reads as a value not yet known
    if isinstance(value, pulumi.Resource):
        return {"resource": value.pulumi_resource_name}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _where(error: BaseException, project: Any) -> str:
    """The line of the program (not of a library) where `error` was raised, as `file:line: code`."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if str(project.directory) in f.filename and "/site-packages/" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"


def _refused(error: BaseException | None) -> bool:
    """Whether `error` is, or was caused by, a call the seal refused (a chain may loop back on itself)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OfflineRefusal):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _unknown_where_refused(seal: Seal) -> None:
    """A refused call inside an `apply` leaves that output unknown (as a preview of a resource not yet
    created would) instead of failing the run; the seal records it."""
    original = pulumi.Output.apply

    def apply(self: pulumi.Output, func: Any, run_with_unknowns: bool = False) -> pulumi.Output:
        def guarded(value: Any) -> Any:
            try:
                return func(value)
            except Exception as error:
                if not _refused(error):
                    raise
                seal.went_on()
                return _unknown()

        return original(self, guarded, run_with_unknowns)

    pulumi.Output.apply = apply


def _unknown() -> pulumi.Output:
    loop = asyncio.get_event_loop()
    value, known = loop.create_future(), loop.create_future()
    value.set_result(None)
    known.set_result(False)
    return pulumi.Output(set(), value, known)


def _report_progress(done: int, registered: int) -> None:
    sys.stderr.write(f"{PROGRESS_MARK}{done} {registered}\n")
    sys.stderr.flush()


def _mocks(mode: Mode, context: RunContext) -> Any:
    if mode is Mode.LOCAL:
        # Imported only here: the local cloud needs boto3 and the emulator's packages, which the
        # virtualenv of a project that is only previewed or checked need not have.
        from conduit.local.deployer import LocalCloud

        return LocalCloud.from_environment()
    return FakeCloud(context, preview=mode is Mode.UNKNOWN)


def run_one(project_dir: Path, stack_name: str, mode: Mode, out: Path, seal: Seal | None,
            progress: bool = False) -> int:
    """One program run, its record (or its error) written to `out`; the exit code the run earns.
    `seal` is this process's, installed already (None: the local cloud's own deployment)."""
    project = load_project(project_dir)
    stack = load_stack(project, stack_name)
    if seal is not None:
        seal.begin(project.directory)
    report = seal.report if seal is not None else list
    try:
        context = RunContext()
        mocks = _mocks(mode, context)
        # Every offline run is a preview to the program (`pulumi.runtime.is_dry_run()`), as the
        # policy pack's run under `pulumi preview` is: programs keep real-world actions for `up`.
        run = run_program(project, stack, mocks, dry_run=mode is not Mode.LOCAL, context=context,
                          progress=_report_progress if progress else None)
    except pulumi.RunError as exc:
        out.write_text(json.dumps({"error": str(exc), "directCalls": report()}))
        return 2
    except Exception as exc:
        if _refused(exc) and seal is not None and seal.calls:
            message = f"the program {seal.calls[-1].line()}"  # calls ... itself, not judged offline (...): where
            out.write_text(json.dumps({"error": message, "directCalls": report(),
                                       "traceback": traceback.format_exc()}))
            return 4
        where = _where(exc, project)
        message = f"the program raised {type(exc).__name__}: {exc}" + (f"\n  at {where}" if where else "")
        if isinstance(exc, ModuleNotFoundError):
            message += (f"\n  {exc.name} is not installed for {sys.executable}: install the program's requirements "
                        "there, or name the program's virtualenv in Pulumi.yaml (runtime.options.virtualenv)")
        out.write_text(json.dumps({"error": message, "traceback": traceback.format_exc()}))
        return 3
    keep = mode is Mode.LOCAL
    record = replace(run, resources=[replace(r, inputs=plain(r.inputs, keep), outputs=plain(r.outputs, keep))
                                     for r in run.resources],
                     outputs=plain(run.outputs, keep), direct_calls=report())
    out.write_text(json.dumps(record.to_json()))
    return 0


def _sealed() -> Seal:
    seal = Seal()
    seal.install()
    _unknown_where_refused(seal)
    return seal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project-dir", type=Path)
    parser.add_argument("--stack")
    parser.add_argument("--mode", type=Mode, default=Mode.PLAUSIBLE, choices=list(Mode))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--progress", action="store_true", help="report resources done/registered on stderr")
    parser.add_argument("--batch", type=Path, help="a JSON list of offline runs ({projectDir, stack, mode, out}), "
                                                   "made one after another in this one process")
    args = parser.parse_args(argv)
    if args.batch is not None:
        seal = _sealed()
        gc.disable()  # see below; a batch collects once between its runs instead
        for run in json.loads(args.batch.read_text()):
            mode = Mode(run["mode"])
            if mode is Mode.LOCAL:
                raise SystemExit("a batch holds offline runs only: the local cloud deploys one stack at a time")
            run_one(Path(run["projectDir"]), run["stack"], mode, Path(run["out"]), seal)
            gc.collect()
        return 0
    if args.project_dir is None or args.stack is None or args.out is None:
        parser.error("--project-dir, --stack and --out are required without --batch")
    # only the local cloud's own deployment may reach an endpoint
    seal = _sealed() if args.mode is not Mode.LOCAL else None
    if seal is not None:
        # An offline run makes some hundred thousand objects that all live until it ends: the cycle
        # collector's passes over them find next to nothing and took a quarter of a run of dev. (The
        # local cloud's deployment runs for longer, talking to endpoints, and keeps the collector.)
        gc.disable()
    return run_one(args.project_dir, args.stack, args.mode, args.out, seal, args.progress)


if __name__ == "__main__":
    sys.exit(main())
