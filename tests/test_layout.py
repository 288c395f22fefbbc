"""The shape of the code base: the program alone in infra/, no import cycles, exact pins where we use internals."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from conduit.local.scenarios import SCENARIOS
from infra.systems import NAMES, SYSTEMS
from tests.conftest import REPO

PACKAGES = ("infra", "conduit", "handlers", "policies")


def _module_name(path: Path) -> str:
    # The policy pack's folder stands alone: its package is importable from inside it.
    root = REPO / "policies" if path.is_relative_to(REPO / "policies") else REPO
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path], top_level_only: bool) -> set[str]:
    """Project modules `path` imports (at module level only, or anywhere)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(n for n in names if n in modules)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_project_has_no_import_cycles_even_through_function_level_imports():
    modules = _modules()
    graph = {name: _imports(path, modules, top_level_only=False) - {name} for name, path in modules.items()}
    # A package's __init__ importing its own submodules is how a registry is built, not a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(f"{name}.")}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_project_module_is_imported_inside_a_function():
    modules = _modules()
    hidden = {name: sorted(_imports(p, modules, False) - _imports(p, modules, True)) for name, p in modules.items()}
    # The one exception, and why: the program's child process runs in the project's own virtualenv,
    # which for a project that is only previewed need not have the local cloud's packages.
    allowed = {"conduit.child": ["conduit.local.deployer"]}
    assert {k: v for k, v in hidden.items() if v} == allowed


def test_the_program_folder_holds_no_command_line_code():
    for path in (REPO / "infra").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(argparse|click|typer)\b", text, re.M), path


def test_pulumi_pulumi_policy_and_ministack_are_pinned_exactly():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {re.split(r"[=<>~!\[ ]", d, maxsplit=1)[0].lower(): d for d in dependencies}
    for package in ("pulumi", "pulumi-policy", "ministack"):
        assert re.fullmatch(rf"{package}==[\d.]+", pins[package]), pins[package]


def test_every_system_has_exactly_one_scenario_in_the_order_of_the_program():
    assert [s.system_name for s in SCENARIOS] == list(NAMES)
    assert len({s.key for s in SYSTEMS}) == len(SYSTEMS) == len({s.package for s in SYSTEMS})
    for system in SYSTEMS:
        assert (REPO / "handlers" / system.package / "__init__.py").exists(), system


def test_stack_settings_have_a_field_for_every_system():
    from infra.stack_settings import StackSettings

    assert all(s.settings_field in StackSettings.model_fields for s in SYSTEMS)


def test_a_system_is_named_by_its_constant_everywhere_but_where_it_is_declared():
    """`infra/systems.py` declares each system once; nothing else spells its name, key or package."""
    sources = [p for package in ("infra", "conduit", "handlers") for p in (REPO / package).rglob("*.py")
               if p != REPO / "infra" / "systems.py"]
    for system in SYSTEMS:
        for spelling in (f'"{system.name}"', f'"{system.key}"', f'"{system.package}"',
                         f'"handlers.{system.package}.'):
            found = sorted(str(p.relative_to(REPO)) for p in sources if spelling in p.read_text())
            assert found == [], f"{spelling} is spelled out in {found}; use infra.systems"


def _args_calls_with_spreads(source: str) -> list[int]:
    """Lines where an `...Args(...)` call is fed a `**` spread."""
    return [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            and ast.unparse(node.func).endswith("Args") and any(k.arg is None for k in node.keywords)]


def test_building_blocks_take_typed_arguments_not_dict_spreads():
    """Typing stops at `dict[str, Any]` once `**common` feeds an Args: shared defaults are typed values."""
    spreads = {str(p.relative_to(REPO)): lines for p in (REPO / "infra").rglob("*.py")
               if (lines := _args_calls_with_spreads(p.read_text()))}
    assert spreads == {}
    assert _args_calls_with_spreads("X(**y)\nFunctionArgs(a=1, **common)\n") == [2]


# The modules allowed to touch a pinned library's private names (each one says why and names the
# version it was written against; each library's contract test lists the names it touches).
PRIVATE_SEAMS = {
    "pulumi": {"conduit/offline/pulumi_seam.py"},
    "pulumi_policy": {"conduit/policy_seam.py"},
    "ministack": {"conduit/local/ministack_seam.py"},
    "aws_lambda_powertools": set(),
}


def _private_uses(source: str) -> set[str]:
    """The pinned libraries whose private names (`_x`, not dunders) `source` imports or reads."""
    tree, aliases, used = ast.parse(source), {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {(a.asname or a.name.split(".")[0]): a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            aliases |= {(a.asname or a.name): root for a in node.names}
            if root in PRIVATE_SEAMS and (any(a.name.startswith("_") for a in node.names)
                                          or any(p.startswith("_") for p in node.module.split(".")[1:])):
                used.add(root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and aliases.get(base.id) in PRIVATE_SEAMS:
                used.add(aliases[base.id])
    return used


def test_pinned_libraries_private_names_are_touched_only_in_their_seams():
    outside = {}
    for package in ("conduit", "policies", "infra", "handlers"):
        for path in (REPO / package).rglob("*.py"):
            where = str(path.relative_to(REPO))
            stray = {lib for lib in _private_uses(path.read_text()) if where not in PRIVATE_SEAMS[lib]}
            if stray:
                outside[where] = sorted(stray)
    assert outside == {}
    assert _private_uses("from pulumi.runtime import rpc\nrpc._special_sig_key\n") == {"pulumi"}
    assert _private_uses("from pulumi_policy.policy import _PolicyAnalyzerServicer\n") == {"pulumi_policy"}
    assert _private_uses("import pulumi\npulumi.Output\n") == set()
