"""`conduit package`: every Lambda archive, built and listed with its size and digest."""

from __future__ import annotations

import argparse

from infra import lambda_archives


def package(args: argparse.Namespace) -> int:
    out = args.out or args.project_dir / "build" / "package"
    for archive in lambda_archives.build_all(out, reuse_layer=False):
        print(f"{archive.path}  {archive.size:>10,d} bytes  sha256 {archive.sha256}")
    return 0
