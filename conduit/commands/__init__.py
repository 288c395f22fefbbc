"""The `conduit` commands, each loaded only when it runs: a preview never imports the local cloud,
flashing (boto3, cryptography) or the policy pack, which made half a second of every command's start.

A command's parser is built in `conduit.main` (and `conduit.local.options`); its function is a
`Handler`, named by module and attribute, imported when the command is chosen.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Handler:
    """A command's function, by module and name: `handler(args)` imports the module and runs it."""

    module: str
    function: str

    def __call__(self, args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(self.module), self.function)(args)
