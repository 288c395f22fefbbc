"""`conduit flash` and `conduit replay`: the cat feeder's board and its ledger."""

from __future__ import annotations

import argparse

from conduit.flash import flash
from conduit.replay import replay


def flash_board(args: argparse.Namespace) -> int:
    done = flash(args.stack, args.device, args.project_dir, args.out, args.port, args.feed_seconds, args.state_dir)
    what = f"bundle written to {done}" if args.out else f"flashed on {args.port}: {done.summary()}"
    print(f"feeder '{args.device}' of stack '{args.stack}': {what}")
    return 0


def replay_ledger(args: argparse.Namespace) -> int:
    print(replay(args.stack, args.since, args.until, args.project_dir, state_dir=args.state_dir,
                 feed_again=args.feed_again))
    return 0
