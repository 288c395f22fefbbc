"""The environment's bytecode, compiled once at install (`make install`, `make install-all`).

pip installs with `--no-compile` (it would compile every package one file at a time), and Python
compiles a module when it first imports it, but writes nothing where PYTHONDONTWRITEBYTECODE is set,
as on the machines this runs on: every offline run would then compile pulumi_aws's modules from
source again, a third of a preview of dev. pulumi_aws's 1,700 modules compile to 143 MB, so the main
job's environment takes those of the services the program declares (`aws.<service>.` in its code)
and the tests' environment, which runs other programs too, all of them. compileall skips what is
compiled already, in parallel.
"""

from __future__ import annotations

import argparse
import compileall
import re
import sys
import sysconfig
from pathlib import Path

SERVICE = re.compile(r"\baws\.([a-z0-9_]+)\.")
PROVIDER = "pulumi_aws"


def program_services(program: Path) -> list[str]:
    """The pulumi_aws modules a program's code names as `aws.<service>.`."""
    return sorted({name for path in program.rglob("*.py") for name in SERVICE.findall(path.read_text())})


def compile_environment(site: Path, services: list[str] | None) -> bool:
    """Compile `site`; of pulumi_aws, only `services` (and its own top-level modules) unless None."""
    if services is None:
        return compileall.compile_dir(site, quiet=1, workers=0)
    provider = site / PROVIDER
    done = compileall.compile_dir(site, quiet=1, workers=0, rx=re.compile(re.escape(f"/{PROVIDER}/")))
    done &= compileall.compile_dir(provider, maxlevels=0, quiet=1, workers=0)
    for service in services:
        if (provider / service).is_dir():
            done &= compileall.compile_dir(provider / service, quiet=1, workers=0)
    return bool(done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conduit.bytecode", description=__doc__.splitlines()[0])
    parser.add_argument("--program", type=Path, help="compile only the pulumi_aws services this folder's code names")
    args = parser.parse_args(argv)
    site = Path(sysconfig.get_paths()["purelib"])
    services = program_services(args.program) if args.program else None
    if not compile_environment(site, services):
        # As pip's own compile step: a file this Python cannot compile (compileall names it above)
        # is one no run imports, or one that fails on import as it would have; the install goes on.
        print("note: some files were not compiled (named above); the install goes on", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
