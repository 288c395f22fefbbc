"""The `conduit` command: preview text and JSON for every stack, and reproducible packages."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from conduit.run_record import RecordedResource, RunRecord, Secret
from tests.conftest import REPO


def conduit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conduit.main", *args], capture_output=True, text=True, cwd=REPO)


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


def test_archives_built_by_programs_running_at_once_are_whole(tmp_path):
    """Two stacks checked side by side build the same archive at the same moment: each run writes a
    partial file of its own and renames it into place, so none fails and the archive is whole."""
    from infra.lambda_archives import write_reproducible_zip

    source = tmp_path / "handler.py"
    source.write_text("x = 1\n" * 5000)
    target = tmp_path / "out" / "code.zip"
    with ThreadPoolExecutor(8) as pool:
        built = list(pool.map(lambda _: write_reproducible_zip(target, {"handler.py": source}), range(48)))
    assert {b.sha256 for b in built} == {hashlib.sha256(target.read_bytes()).hexdigest()}
    assert zipfile.ZipFile(target).read("handler.py") == source.read_bytes()
    assert list(target.parent.iterdir()) == [target], "a partial file was left behind"


def _bare_project(folder, stack: str = "test"):
    """A Pulumi project of someone else's: one queue without a dead-letter queue."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: someone-else\nruntime: python\n")
    (folder / f"Pulumi.{stack}.yaml").write_text("config:\n  aws:region: us-east-1\n")
    (folder / "__main__.py").write_text("import pulumi_aws as aws\naws.sqs.Queue('orders')\n")
    return folder


def test_check_judges_the_project_around_the_current_directory_as_pulumi_finds_it(tmp_path):
    project = _bare_project(tmp_path / "other")
    (project / "src" / "deep").mkdir(parents=True)
    for cwd in (project, project / "src" / "deep"):
        result = subprocess.run([sys.executable, "-m", "conduit.main", "check", "--stack", "test", "--json"],
                                capture_output=True, text=True, cwd=cwd)
        assert result.returncode == 1, result.stderr
        [violation] = [v for v in json.loads(result.stdout)["violations"] if v["policy"] == "sqs-dead-letter-queue"]
        assert violation["urn"] == "urn:pulumi:test::someone-else::aws:sqs/queue:Queue::orders"


def test_cwd_option_names_another_project_and_project_dir_is_its_alias(tmp_path):
    project = _bare_project(tmp_path / "other")
    for option in ("-C", "--cwd", "--project-dir"):
        result = subprocess.run([sys.executable, "-m", "conduit.main", "preview", "--stack", "test", option,
                                 str(project), "--json"], capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert {r["name"] for r in json.loads(result.stdout)["resources"]} == {"orders"}


def test_no_project_found_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "conduit.main", "preview", "--stack", "dev"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "no Pulumi project here: no Pulumi.yaml in" in result.stderr and "-C/--cwd" in result.stderr


def test_compare_reports_what_only_one_deployment_made():
    from conduit.local.compare import compare_with_pulumi

    # A secret output compares by its revealed shape: the workflow reads pulumi's with --show-secrets.
    record = RunRecord("local", [
        RecordedResource("urn:pulumi:local::conduit::aws:sqs/queue:Queue::q", "aws:sqs/queue:Queue", "q",
                         inputs={"name": "q", "sqsManagedSseEnabled": True}),
        RecordedResource("urn:pulumi:local::conduit::aws:sns/topic:Topic::t", "aws:sns/topic:Topic", "t")],
        outputs={"a": {"url": "x"}, "key": Secret("k")})
    export = {"deployment": {"resources": [
        {"urn": "urn:pulumi:local::conduit::pulumi:pulumi:Stack::conduit-local", "type": "pulumi:pulumi:Stack",
         "custom": False},
        {"urn": "urn:pulumi:local::conduit::pulumi:providers:aws::default", "type": "pulumi:providers:aws",
         "custom": True},
        {"urn": "urn:pulumi:local::conduit::aws:sqs/queue:Queue::q", "type": "aws:sqs/queue:Queue", "custom": True,
         "inputs": {"name": "q", "sqsManagedSseEnabled": True, "delaySeconds": 0}}]}}
    assert compare_with_pulumi(record, export, {"a": {"url": "y"}, "key": "k"}) == [
        "only conduit local up made urn:pulumi:local::conduit::aws:sns/topic:Topic::t"]
    export["deployment"]["resources"][2]["inputs"].pop("sqsManagedSseEnabled")
    assert compare_with_pulumi(record, export, {"a": {}, "key": "k"}) == [
        "only conduit local up made urn:pulumi:local::conduit::aws:sns/topic:Topic::t",
        "urn:pulumi:local::conduit::aws:sqs/queue:Queue::q: inputs ['sqsManagedSseEnabled'] did not reach the "
        "real provider",
        "stack output a.url only from conduit local up"]


def small_program(tmp_path, settings: str = "  aws:region: eu-west-1\n"):
    (tmp_path / "Pulumi.yaml").write_text("name: outside\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n" + settings)
    (tmp_path / "__main__.py").write_text("import pulumi_aws as aws\n"
                                          "aws.sqs.Queue('q', sqs_managed_sse_enabled=True)\n")
    return tmp_path


@pytest.mark.parametrize("name", ["dev", "acme/dev", "acme/outside/dev"])
def test_a_stack_may_be_named_as_pulumi_names_it(tmp_path, name):
    result = conduit("preview", "--stack", name, "-C", str(small_program(tmp_path)))
    assert result.returncode == 0, result.stderr


def test_a_qualified_name_of_another_project_is_refused(tmp_path):
    result = conduit("preview", "--stack", "acme/elsewhere/dev", "-C", str(small_program(tmp_path)))
    assert result.returncode != 0 and "not a stack of project 'outside'" in result.stderr


def test_a_misspelled_provider_setting_is_named_with_the_one_meant(tmp_path):
    result = conduit("preview", "--stack", "dev", "-C", str(small_program(tmp_path, "  aws:regoin: eu-west-1\n")))
    assert "aws:regoin is not a setting of the aws provider" in result.stderr
    assert "did you mean aws:region?" in result.stderr


def test_check_reads_the_stacks_own_policy_config_and_takes_pulumis_option_name(tmp_path):
    project = small_program(tmp_path)
    (project / "policies" / "config").mkdir(parents=True)
    (project / "policies" / "config" / "dev.json").write_text('{"sqs-dead-letter-queue": "disabled"}')
    own = conduit("check", "--stack", "dev", "-C", str(project))
    assert "policy config" in own.stderr and "dev.json (the stack's own" in own.stderr
    assert "sqs-dead-letter-queue" not in own.stdout
    given = tmp_path / "given.json"
    given.write_text('{"sqs-dead-letter-queue": "mandatory"}')
    named = conduit("check", "--stack", "dev", "-C", str(project), "--policy-pack-config", str(given))
    assert named.returncode == 1 and "sqs-dead-letter-queue (mandatory)" in named.stdout


def test_every_user_error_named_by_the_command_line_is_an_exception_class():
    import importlib

    from conduit.main import USER_ERRORS

    for entry in USER_ERRORS:
        module, name = entry.split(":")
        found = getattr(importlib.import_module(module), name)
        assert isinstance(found, type) and issubclass(found, Exception), entry


def test_the_command_line_loads_a_commands_modules_only_when_it_runs():
    """A preview's start does not pay for the local cloud, flashing or the policy pack."""
    probe = ("import sys, conduit.main; heavy = ['boto3', 'pulumi_policy', 'conduit.local.commands', "
             "'conduit.flash', 'conduit_policies.pack', 'cryptography']; print([m for m in heavy if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert loaded.stdout.strip() == "[]"
    parsed = subprocess.run([sys.executable, "-c", "import sys; from conduit.main import build_parser; "
                             "build_parser().parse_args(['local', 'status', '--stack', 'dev']); "
                             "print('conduit.local.commands' in sys.modules)"],
                            capture_output=True, text=True, check=True, cwd=REPO)
    assert parsed.stdout.strip() == "False"
