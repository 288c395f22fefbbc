"""Read a Pulumi project and one of its stacks the way the Pulumi CLI does, without the CLI."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ProjectError(RuntimeError):
    """The project or stack files are missing or malformed."""


@dataclass(frozen=True)
class Project:
    directory: Path
    name: str
    main: Path
    virtualenv: Path | None

    def python(self) -> str:
        """The interpreter Pulumi's language host would use: the virtualenv's, when one is named."""
        if self.virtualenv is None:
            return sys.executable
        candidate = self.virtualenv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        if not candidate.exists():
            raise ProjectError(
                f"Pulumi.yaml names the virtualenv {self.virtualenv}, which does not exist; "
                "create it (for this project: make install)"
            )
        return str(candidate)


@dataclass(frozen=True)
class StackConfig:
    name: str
    values: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)


PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above `start` holding a Pulumi.yaml, as the Pulumi CLI looks for it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if any((folder / name).is_file() for name in PROJECT_FILES):
            return folder
    raise ProjectError(f"no Pulumi project here: no Pulumi.yaml in {start} or any folder above it; "
                       "run conduit inside a Pulumi project or name one with -C/--cwd DIR")


def load_project(directory: Path) -> Project:
    path = next((directory / n for n in PROJECT_FILES if (directory / n).exists()), None)
    if path is None:
        raise ProjectError(f"no Pulumi.yaml in {directory}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not document.get("name"):
        raise ProjectError(f"{path}: a Pulumi project needs a `name`")
    runtime = document.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise ProjectError(f"{path}: runtime is {runtime_name!r}; only Python programs can run offline")
    options = (runtime.get("options") or {}) if isinstance(runtime, dict) else {}
    venv = options.get("virtualenv")
    return Project(
        directory=directory.resolve(),
        name=str(document["name"]),
        main=(directory / document.get("main", ".")).resolve(),
        virtualenv=(directory / venv).resolve() if venv else None,
    )


def stacks(project: Project) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.directory.glob("Pulumi.*.yaml"))


def _engine_value(value: Any) -> str:
    """Config values reach a program as strings; structured ones as JSON, as the CLI passes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def load_stack(project: Project, stack: str) -> StackConfig:
    path = project.directory / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(stacks(project)) or "none"
        raise ProjectError(f"no stack file {path.name} in {project.directory} (stacks: {known})")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path.name} is not valid YAML: {exc}") from exc
    values: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Encrypted values need the CLI's secrets provider; offline runs see a placeholder.
            values[full_key], secrets = "offline-secret-placeholder", [*secrets, full_key]
        else:
            values[full_key] = _engine_value(value)
    return StackConfig(stack, values, secrets)
