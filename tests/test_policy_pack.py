"""The policy pack stands alone: copied without the rest of Conduit, installed in a fresh virtualenv
from its own requirements.txt, it loads and serves (what `pulumi policy publish` relies on)."""

from __future__ import annotations

import re
import shutil
import subprocess
import venv

import yaml

from tests.conftest import REPO

PACK = REPO / "policies"


def test_the_pack_names_nothing_outside_its_folder():
    settings = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert settings["version"] and settings["runtime"]["name"] == "python"
    assert ".." not in str(settings["runtime"].get("options", {}).get("virtualenv", ""))
    for source in PACK.rglob("*.py"):
        text = source.read_text()
        assert "sys.path" not in text, f"{source}: no import-path tricks in a pack that must stand alone"
        assert not re.search(r"^\s*(from|import) (conduit|infra|handlers)\b", text, re.M), source


def test_the_pack_alone_installs_from_its_requirements_and_serves(tmp_path):
    copy = tmp_path / "pack"
    shutil.copytree(PACK, copy, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    environment = copy / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                                str(copy / "requirements.txt")], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-2000:]
    # PolicyPack serves forever: it must print the port it listens on, then it is stopped.
    server = subprocess.Popen([str(python), "__main__.py"], cwd=copy, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline() if server.stdout else ""
        assert re.fullmatch(r"\d+\s*", first), f"no port announced: {first!r}"
    finally:
        server.kill()
        server.wait(timeout=10)
