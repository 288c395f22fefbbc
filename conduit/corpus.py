"""`python -m conduit.corpus DIR...`: `conduit check` over real Pulumi Python programs, one line each.

Each program is copied to a scratch folder and checked on a stack of its own (`corpus`, with
`aws:region`, any config its template declares a default for, and what `corpus.json` says its README
asks a user to set), as a new user would check a fresh clone. The summary counts the programs the
offline engine ran to a verdict; every other line says why it did not (a missing package, a config
value the program requires, an engine error).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

STACK = "corpus"


@dataclass(frozen=True)
class Outcome:
    program: str
    judged: bool
    resources: int
    mandatory: int
    seconds: float
    why: str


MANIFEST = Path(__file__).with_name("corpus.json")


def _stack_file(project: Path, config: dict[str, str]) -> None:
    document = yaml.safe_load((project / "Pulumi.yaml").read_text()) or {}
    name = document.get("name", project.name)
    settings = {"aws:region": "us-east-1"}
    template = (document.get("template") or {}).get("config") or {}
    for key, spec in template.items():
        if isinstance(spec, dict) and "default" in spec:
            settings[key if ":" in key else f"{name}:{key}"] = str(spec["default"])
    settings.update(config)
    (project / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": settings}))


def check(program: Path, config: dict[str, str], timeout: int, settings: dict[str, Any] | None = None) -> Outcome:
    """Check one program, with the config and files its README asks for (`settings`, from the manifest)."""
    settings = settings or {}
    with tempfile.TemporaryDirectory(prefix="conduit-corpus-") as scratch:
        project = Path(scratch) / program.name
        shutil.copytree(program, project, ignore=shutil.ignore_patterns("venv", ".venv", "node_modules"))
        for name, content in settings.get("files", {}).items():
            (project / name).write_text(content)
        given = {k: v.replace("{project}", str(project)) for k, v in settings.get("config", {}).items()}
        _stack_file(project, {**given, **config})
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "conduit.main", "check", "--stack", STACK, "-C", str(project),
                                 "--json", "--timeout", str(timeout)], capture_output=True, text=True)
        seconds = time.monotonic() - started
    try:
        verdict = json.loads(result.stdout)
    except json.JSONDecodeError:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        return Outcome(program.name, False, 0, 0, seconds, " | ".join(lines[:3])[:300] or f"exit {result.returncode}")
    mandatory = sum(1 for v in verdict.get("violations", []) if v.get("enforcement") == "mandatory")
    return Outcome(program.name, True, int(verdict.get("resources", 0)), mandatory, seconds, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conduit.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("programs", nargs="+", type=Path, help="folders holding a Pulumi.yaml")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="a config value every program gets (for values programs require)")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args(argv)
    config = dict(item.split("=", 1) for item in args.config)
    manifest = json.loads(MANIFEST.read_text())["programs"]
    outcomes = []
    for program in args.programs:
        outcome = check(program, config, args.timeout, manifest.get(program.name))
        outcomes.append(outcome)
        status = (f"judged: {outcome.resources} resources, {outcome.mandatory} mandatory findings"
                  if outcome.judged else f"NOT JUDGED: {outcome.why}")
        print(f"{str(program)[-48:]:48} {outcome.seconds:5.1f} s  {status}", flush=True)
    judged = sum(o.judged for o in outcomes)
    print(f"{judged} of {len(outcomes)} programs judged offline")
    return 0 if judged == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
