"""Read a Pulumi project and one of its stacks the way the Pulumi CLI does, without the CLI."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ProjectError(RuntimeError):
    """The project or stack files are missing or malformed."""


log = logging.getLogger("conduit")


@dataclass(frozen=True)
class Project:
    directory: Path
    name: str
    main: Path
    virtualenv: Path | None
    # Pulumi.yaml's own `config:` values and defaults, under every stack's.
    config: dict[str, str] = field(default_factory=dict)

    def python(self) -> str:
        """The interpreter Pulumi's language host would use: the virtualenv's, when one is named.

        A named virtualenv that does not exist yet (a fresh clone: `pulumi install` makes it) is
        not a reason to refuse: Conduit's own Python has the SDK and the common providers.
        """
        if self.virtualenv is None:
            return sys.executable
        candidate = self.virtualenv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        if not candidate.exists():
            log.warning("Pulumi.yaml names the virtualenv %s, which does not exist yet (pulumi install makes it); "
                        "running the program with %s instead", self.virtualenv, sys.executable)
            return sys.executable
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
    name = str(document["name"])
    return Project(
        directory=directory.resolve(),
        name=name,
        main=(directory / document.get("main", ".")).resolve(),
        virtualenv=(directory / venv).resolve() if venv else None,
        config=_project_config(name, document.get("config"), path),
    )


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _project_config(project: str, section: Any, path: Path) -> dict[str, str]:
    """Pulumi.yaml's `config:`: a plain value, `{value: ...}`, or a declared key with a `default`."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ProjectError(f"{path}: `config` must map keys to values or declarations")
    values = {}
    for key, entry in section.items():
        declared = isinstance(entry, dict) and ({"type", "default", "value", "description", "secret", "items"}
                                                >= set(entry))
        value = (entry.get("value", entry.get("default")) if declared else entry)
        if value is not None:
            values[_full_key(project, str(key))] = _engine_value(value)
    return values


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


def short_stack_name(stack: str) -> str:
    """`org/project/stack` or `org/stack` as the CLI accepts them: the stack file is Pulumi.<stack>.yaml."""
    return stack.rsplit("/", 1)[-1]


def load_stack(project: Project, stack: str) -> StackConfig:
    """The stack's configuration over the project's. A project with no stack file at all (stack
    files are often not committed) runs on the project's alone; one with other stacks' files but
    not this one is a mistyped stack name, refused with the names it has. A qualified name
    (`org/project/stack`) names the same stack file; a project part must be this project's."""
    parts = stack.split("/")
    if len(parts) > 3 or not all(parts) or (len(parts) == 3 and parts[1] != project.name):
        raise ProjectError(f"stack {stack!r} is not a stack of project {project.name!r}: name it as 'stack', "
                           f"'org/stack' or 'org/{project.name}/stack'")
    stack = short_stack_name(stack)
    path = project.directory / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = stacks(project)
        if known:
            raise ProjectError(f"no stack file {path.name} in {project.directory} (stacks: {', '.join(known)})")
        log.warning("no stack files in %s: stack '%s' runs on the configuration of Pulumi.yaml only",
                    project.directory, stack)
        return StackConfig(stack, dict(project.config), [])
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path.name} is not valid YAML: {exc}") from exc
    values: dict[str, str] = dict(project.config)
    secrets: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = _full_key(project.name, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Encrypted values need the CLI's secrets provider; offline runs see a placeholder.
            values[full_key], secrets = "offline-secret-placeholder", [*secrets, full_key]
        else:
            values[full_key] = _engine_value(value)
    return StackConfig(stack, values, secrets)


COPY_IGNORED = (".venv", ".git", "build", ".conduit", "__pycache__", ".*cache")


def copy_project(source: Path, into: Path, *ignored: str) -> Path:
    """A working copy of a project (to try a changed setting or file on): its files without the
    virtualenv, history and build output, the virtualenv linked, and dependency layers already
    built copied along, so that a run of the copy needs no network (an offline check refuses it)."""
    shutil.copytree(source, into, ignore=shutil.ignore_patterns(*COPY_IGNORED, *ignored))
    venv = source / ".venv"
    if venv.exists():
        (into / ".venv").symlink_to(venv)
    for layer in (source / "build" / "lambda").glob("layer-*.zip"):
        (into / "build" / "lambda").mkdir(parents=True, exist_ok=True)
        shutil.copy2(layer, into / "build" / "lambda" / layer.name)
    return into
