"""`conduit local up|status|down`."""

from __future__ import annotations

import argparse


def add_local_commands(commands: argparse._SubParsersAction) -> None:
    local = commands.add_parser("local", help="deploy a stack onto the embedded AWS emulator")
    sub = local.add_subparsers(dest="local_command", required=True)
    del sub
