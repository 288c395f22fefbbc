"""`conduit check` and `conduit preview` of someone's program reach no cloud and no network: with real
looking credentials, a profile and an endpoint in the environment, a program that calls AWS itself
(inside an apply or at its top) or opens any connection is refused before a byte leaves, and the
output names the program's line."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conduit.offline.hermetic import OnLoad, sealed_environment
from conduit.run_record import RunRecord
from conduit.runner import Mode, OfflineRun, ProgramError, run_stack, run_stacks

PRUNE_IN_APPLY = '''
import boto3
import pulumi
import pulumi_aws as aws

fn = aws.lambda_.Function("fn", role="arn:aws:iam::123456789012:role/r", runtime="python3.12", handler="h.h",
                          code=pulumi.AssetArchive({}), memory_size=256, timeout=10)


def prune(name):
    lam = boto3.client("lambda")
    for version in lam.list_versions_by_function(FunctionName=name)["Versions"][:-3]:
        lam.delete_function(FunctionName=name, Qualifier=version["Version"])
    return name


aws.s3.BucketV2("pruned", tags={"fn": fn.name.apply(prune)})
'''
LOOKUP_AT_TOP = '''
import boto3
import pulumi_aws as aws

account = boto3.client("sts").get_caller_identity()["Account"]
aws.s3.BucketV2("logs", bucket=f"logs-{account}")
'''
RAW_NETWORK = '''
import os
import urllib.request
import pulumi_aws as aws

urllib.request.urlopen(os.environ.get("PROBE_URL", "http://127.0.0.1:1/"), timeout=5).read()
aws.s3.BucketV2("b")
'''


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[str]]]:
    """A server standing in for AWS: every request that reaches it is recorded."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_DELETE = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()


def program(tmp_path: Path, source: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: outside\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(source)
    return tmp_path


def conduit(project: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(project), "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SESSION_TOKEN": "token",
           "AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_STS": url, "AWS_PROFILE": "production",
           "AWS_DEFAULT_REGION": "eu-west-1", "HTTPS_PROXY": url, "PROBE_URL": url}
    return subprocess.run([sys.executable, "-m", "conduit.main", *args, "--stack", "dev", "-C", str(project)],
                          capture_output=True, text=True, env=env, timeout=180)


def test_a_call_inside_an_apply_is_refused_its_output_left_unknown_and_the_check_goes_on(tmp_path, endpoint):
    url, hits = endpoint
    result = conduit(program(tmp_path, PRUNE_IN_APPLY), url, "check", "--json")
    assert hits == [], "nothing reached the endpoint"
    assert result.returncode == 0, result.stderr
    [call] = json.loads(result.stdout)["directCalls"]
    assert call["call"] == "AWS (lambda.ListVersionsByFunction)" and call["inApply"] is True
    assert call["where"].startswith(f"{tmp_path}/__main__.py:12:")


def test_a_call_at_the_top_of_the_program_stops_the_run_at_its_line(tmp_path, endpoint):
    url, hits = endpoint
    result = conduit(program(tmp_path, LOOKUP_AT_TOP), url, "check")
    assert hits == []
    assert result.returncode != 0
    assert "calls AWS (sts.GetCallerIdentity) itself, not judged offline" in result.stderr
    assert f"{tmp_path}/__main__.py:5:" in result.stderr


@pytest.mark.parametrize("command", [["check"], ["check", "--preview"], ["preview"]])
def test_no_connection_of_any_library_leaves(tmp_path, endpoint, command):
    url, hits = endpoint
    result = conduit(program(tmp_path, RAW_NETWORK), url, *command)
    assert hits == []
    assert result.returncode != 0 and "calls the network (127.0.0.1:" in result.stderr
    assert f"{tmp_path}/__main__.py:6:" in result.stderr


def test_the_sealed_environment_keeps_no_way_in_but_keeps_the_region():
    sealed = sealed_environment({"AWS_ACCESS_KEY_ID": "a", "AWS_PROFILE": "p", "AWS_ENDPOINT_URL_S3": "u",
                                 "AWS_WEB_IDENTITY_TOKEN_FILE": "f", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "c",
                                 "GOOGLE_APPLICATION_CREDENTIALS": "g", "AZURE_CLIENT_SECRET": "z",
                                 "AWS_REGION": "eu-west-1", "PATH": "/bin"})
    assert sealed["AWS_REGION"] == "eu-west-1" and sealed["PATH"] == "/bin"
    assert sealed["AWS_EC2_METADATA_DISABLED"] == "true"
    assert not {"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CLIENT_SECRET"} & set(
        sealed)


@pytest.mark.parametrize(("source", "refused"), [
    ("import socket\nsocket.getaddrinfo('sts.amazonaws.com', 443)\n", "a DNS lookup of sts.amazonaws.com"),
    ("import subprocess\nsubprocess.run(['aws', 'sts', 'get-caller-identity'])\n", "another program (aws sts"),
    ("import os\nos.system('curl https://example.com')\n", "another program (curl"),
])
def test_lookups_and_other_programs_are_refused_too(tmp_path, endpoint, source, refused):
    result = conduit(program(tmp_path, source + "import pulumi_aws as aws\naws.s3.BucketV2('b')\n"), endpoint[0],
                     "check")
    assert result.returncode != 0 and refused in result.stderr, result.stderr
    assert f"{tmp_path}/__main__.py:2:" in result.stderr


def test_an_error_whose_causes_loop_back_is_judged_without_hanging():
    from conduit.child import _refused

    first, second = ValueError("a"), KeyError("b")
    first.__context__, second.__context__ = second, first
    assert _refused(first) is False


def _settled(record: RunRecord) -> dict:
    """A record without the order the program's concurrent registrations happened to land in."""
    document = record.to_json()
    document["resources"].sort(key=lambda r: r["urn"])
    for r in document["resources"]:
        r["dependencies"].sort()
        r["propertyDependencies"] = {k: sorted(v) for k, v in r["propertyDependencies"].items()}
    return document


def test_a_batch_of_runs_gives_each_program_what_a_run_of_its_own_gives(tmp_path):
    """One child runs program after program: a refused call, an error or a resource of one run never
    shows in another's record, and every record equals the one a child of its own makes."""
    sources = {"in-apply": PRUNE_IN_APPLY, "at-top": LOOKUP_AT_TOP, "clean": "import pulumi_aws as aws\n"
               "aws.s3.BucketV2('b')\n", "broken": "import pulumi_aws as aws\naws.s3.BucketV2('b', tags=1/0)\n"}
    for name in sources:
        (tmp_path / name).mkdir()
    projects = {name: program(tmp_path / name, source) for name, source in sources.items()}
    runs = [OfflineRun(projects[name], "dev", mode) for name in ("in-apply", "clean", "at-top", "broken", "clean")
            for mode in (Mode.PLAUSIBLE, Mode.UNKNOWN)]
    batched = run_stacks(runs, children=2)
    for run, result in zip(runs, batched, strict=True):
        try:
            alone: RunRecord | ProgramError = run_stack(run.project_dir, run.stack, run.mode)
        except ProgramError as error:
            alone = error
        if isinstance(alone, ProgramError):
            assert isinstance(result, ProgramError) and str(result) == str(alone), (run, result)
        else:
            assert isinstance(result, RunRecord) and _settled(result) == _settled(alone), run
    in_apply, clean = batched[0], batched[2]
    assert [c["call"] for c in in_apply.direct_calls] == ["AWS (lambda.ListVersionsByFunction)"]
    assert clean.direct_calls == [] and [r.name for r in clean.custom] == ["b"]
    assert "sts.GetCallerIdentity" in str(batched[4]) and "ZeroDivisionError" in str(batched[6])


def test_a_module_loaded_after_the_seal_is_refused_as_it_loads_and_no_other_with_it(tmp_path, monkeypatch):
    """The seal refuses botocore's client when a program first loads it (`OnLoad`), not by loading it
    itself: the hook must see the module whole, once, and leave its neighbours alone."""
    package = tmp_path / "sdk"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "client.py").write_text("class BaseClient:\n    def call(self):\n        return 'reached'\n")
    (package / "session.py").write_text("from sdk.client import BaseClient\n")
    seen: list[str] = []

    def refuse(module):
        seen.append(module.__name__)
        module.BaseClient.call = lambda self: "refused"

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", [OnLoad("sdk.client", refuse), *sys.meta_path])
    for name in ("sdk", "sdk.client", "sdk.session"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import sdk.session  # loads sdk.client on its way, as boto3 loads botocore.client

    assert seen == ["sdk.client"]
    assert sdk.session.BaseClient().call() == "refused"
    for name in ("sdk", "sdk.client", "sdk.session"):
        sys.modules.pop(name, None)
