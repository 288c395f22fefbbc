"""The `conduit` command: preview text and JSON for every stack, and reproducible packages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


def conduit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra.cli.main", *args], capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_preview_json_lists_resources_and_outputs(stack):
    result = conduit("preview", "--stack", stack, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == stack
    assert set(document["resources"][0]) == {"urn", "type", "name", "parent", "inputs"}
    assert "conduit:messageIngest:MessageIngest" in {r["type"] for r in document["resources"]}
    assert document["outputs"]["messageIngest"]["table"] == f"conduit-{stack}-message-ingest-messages"


def test_preview_text_shows_the_tree_and_counts():
    result = conduit("preview", "--stack", "dev")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    component = lines.index("  conduit:messageIngest:MessageIngest  message-ingest")
    assert "    conduit:blocks:PrivateBucket  message-ingest-files" in lines[component:]
    assert result.stdout == conduit("preview", "--stack", "dev").stdout, "preview output is not stable"
    assert "resources by type:" in result.stdout
    functions = sum(1 for line in lines if line.strip().startswith("aws:lambda/function:Function "))
    assert f"{functions:4d}  aws:lambda/function:Function" in result.stdout and functions >= 3


def test_preview_of_an_unknown_stack_names_the_known_ones():
    result = conduit("preview", "--stack", "staging")
    assert result.returncode == 2
    assert "no stack file Pulumi.staging.yaml" in result.stderr and "dev" in result.stderr


def test_two_package_builds_are_byte_identical(tmp_path):
    first, second = conduit("package", "--out", str(tmp_path / "a")), conduit("package", "--out", str(tmp_path / "b"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr

    def digests(output: str) -> dict[str, str]:
        rows = [line.split() for line in output.splitlines()]
        return {row[0].rsplit("/", 1)[1]: row[-1] for row in rows}

    a, b = digests(first.stdout), digests(second.stdout)
    from infra.lambda_archives import systems

    assert {n for n in a if n.startswith("code-")} == {f"code-{s}.zip" for s in systems()}
    assert len([n for n in a if n.startswith("layer-dependencies-")]) == 1
    assert a == b
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
