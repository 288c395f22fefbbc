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
    assert len({s.key for s in SYSTEMS}) == len(SYSTEMS) == len({s.handlers for s in SYSTEMS})
    for system in SYSTEMS:
        assert (REPO / "handlers" / system.handlers / "__init__.py").exists(), system


def test_stack_settings_have_a_field_for_every_system():
    from infra.stack_settings import StackSettings, _snake

    assert all(_snake(s.key) in StackSettings.model_fields for s in SYSTEMS)


def test_a_soak_account_that_does_not_add_up_is_a_loss():
    from conduit.local.scenario import Account

    assert not Account("f", 5, {"stored": 3, "quarantined": 2}).lost
    assert Account("f", 5, {"stored": 3, "quarantined": 1}).lost
    assert Account("f", 5, {"stored": 5}, ["1 request(s) got a 5xx"]).lost


def test_contracts_between_cloud_code_and_handlers_are_written_once():
    """The ledger's event source, the feeders' topics, the alert topic: one file each, imported by both."""
    sources = [p for package in ("infra", "handlers", "conduit") for p in (REPO / package).rglob("*.py")]
    for literal, home in (('"com.feedmyfurbabies"', "handlers/cat_feeder/contract.py"),
                          ('"AWS IoT 1-Click"', "handlers/cat_feeder/contract.py"),
                          ('"alert/fraud"', "handlers/exchange_events/contract.py"),
                          ('"expiresAt"', "handlers/exchange_events/contract.py"),
                          ('"Feeder State Reported"', "handlers/cat_feeder/contract.py"),
                          ("cat-feeder/{feeder}/action", "handlers/cat_feeder/contract.py")):
        found = sorted(str(p.relative_to(REPO)) for p in sources if literal in p.read_text())
        assert found == [home], f"{literal} is written in {found}"
    for component in ("cat_feeder", "exchange_events", "upload_extraction", "message_ingest"):
        text = (REPO / "infra" / f"{component}.py").read_text()
        assert f"from handlers.{component}.contract import" in text, component


def _handler_modules() -> list[Path]:
    return [p for p in (REPO / "handlers").rglob("*.py") if "shared" not in p.parts]


def test_every_lambda_entry_point_carries_the_logging_context_and_the_tracer():
    """`handler` functions are the functions' entry points: each is wrapped by `@entry_point(...)`."""
    entry_points = 0
    for path in _handler_modules():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name == "handler":
                entry_points += 1
                decorators = [ast.unparse(d) for d in node.decorator_list]
                assert decorators and decorators[0].startswith("entry_point("), f"{path}: {decorators}"
    assert entry_points >= 16, entry_points


def test_apis_declare_their_bodies_and_parameters_as_types():
    """Every API is made by `typed_api` (Powertools parses and validates what routes declare); no
    route reads its body or query string by hand."""
    apis = 0
    for path in _handler_modules():
        text = path.read_text()
        for by_hand in ("APIGatewayHttpResolver(", "get_query_string_value", "current_event.json_body",
                        "decoded_body", "model_validate("):
            assert by_hand not in text or "@app." not in text, f"{path} reads a request by hand: {by_hand}"
        apis += "app = typed_api(" in text
    assert apis == 6, apis
