"""Byte-for-byte reproducible Lambda archives: one per system, plus a dependency layer.

Reproducible bytes matter because Pulumi hashes archives: the same source must give the same
zip, or every `pulumi up` would redeploy every function.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from infra.platform import PYTHON, WHEEL_PLATFORM
from infra.systems import SYSTEMS

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ROOT / "handlers"
REQUIREMENTS = HANDLERS / "requirements.txt"
DEFAULT_BUILD_DIR = ROOT / "build" / "lambda"
SHARED = "shared"

# The Lambda platform the layer is built for: the functions' own (infra/platform.py).
LAYER_PYTHON, LAYER_PLATFORM = PYTHON, WHEEL_PLATFORM

_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache"}


class PackagingError(RuntimeError):
    """An archive could not be built."""


@dataclass(frozen=True)
class BuiltArchive:
    name: str
    path: Path
    size: int
    sha256: str


def systems() -> list[str]:
    """Handler subpackages that become their own archive: one per system of infra/systems.py."""
    return sorted(s.package for s in SYSTEMS)


def _files_below(base: Path) -> Iterable[Path]:
    for path in base.rglob("*"):
        if path.is_file() and not _SKIPPED_DIRS.intersection(path.parts) and path.suffix not in {".pyc"}:
            yield path


def write_reproducible_zip(target: Path, entries: dict[str, Path]) -> BuiltArchive:
    """Zip `entries` (archive name -> file) with fixed order, times and modes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # A partial file of its own, renamed into place: two runs of the program at once (two stacks
    # checked side by side) each write theirs, and neither sees the other's half-written archive.
    with (tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".partial",
                                      delete=False) as partial,
          zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive):
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[arcname].read_bytes())
    written = Path(partial.name)
    data = written.read_bytes()
    written.chmod(0o644)  # as a plain write would leave it (a temporary file starts private)
    written.replace(target)
    return BuiltArchive(target.stem, target, len(data), hashlib.sha256(data).hexdigest())


def build_code_archive(system: str, out_dir: Path) -> BuiltArchive:
    """The `handlers` package trimmed to one system and the shared helpers."""
    if system not in systems():
        raise PackagingError(f"no handler package 'handlers/{system}'; known: {', '.join(systems())}")
    entries = {"handlers/__init__.py": HANDLERS / "__init__.py"}
    for part in (SHARED, system):
        for path in _files_below(HANDLERS / part):
            entries[path.relative_to(ROOT).as_posix()] = path
    return write_reproducible_zip(out_dir / f"code-{system}.zip", entries)


def _layer_key() -> str:
    recipe = f"{LAYER_PYTHON}|{LAYER_PLATFORM}|".encode() + REQUIREMENTS.read_bytes()
    return hashlib.sha256(recipe).hexdigest()[:16]


def build_layer(out_dir: Path, reuse: bool = True) -> BuiltArchive:
    """Third-party dependencies for Python 3.13 on arm64, under `python/` as Lambda expects.

    With `reuse`, a layer already built from the same requirements is returned as is.
    """
    target = out_dir / f"layer-dependencies-{_layer_key()}.zip"
    if reuse and target.exists():
        data = target.read_bytes()
        return BuiltArchive(target.stem, target, len(data), hashlib.sha256(data).hexdigest())
    with tempfile.TemporaryDirectory(prefix="conduit-layer-") as scratch:
        site = Path(scratch) / "python"
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(site), "--platform", LAYER_PLATFORM, "--implementation", "cp",
            "--python-version", LAYER_PYTHON, "--only-binary=:all:", "--no-deps", "--no-compile",
            "--requirement", str(REQUIREMENTS),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PackagingError(
                f"pip could not install {REQUIREMENTS.relative_to(ROOT)} for {LAYER_PLATFORM} "
                f"Python {LAYER_PYTHON}; check that every pin has a wheel for that platform:\n{result.stderr}"
            )
        entries = {p.relative_to(scratch).as_posix(): p for p in _files_below(site)}
        return write_reproducible_zip(target, entries)


def build_all(out_dir: Path = DEFAULT_BUILD_DIR, reuse_layer: bool = True) -> list[BuiltArchive]:
    """Every archive the program deploys."""
    archives = [build_code_archive(system, out_dir) for system in systems()]
    archives.append(build_layer(out_dir, reuse=reuse_layer))
    return archives


def clean(out_dir: Path) -> None:
    shutil.rmtree(out_dir, ignore_errors=True)
