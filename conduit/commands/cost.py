"""`conduit cost` and `conduit refresh-prices`: what a stack's flows cost, from a dated price table."""

from __future__ import annotations

import argparse
import datetime
import json

from conduit.cost import model as cost
from conduit.cost import price_list
from conduit.project import load_project, load_stack
from conduit.runner import run_stack

SYSTEMS_KEY = "conduit:systems"  # a stack of Conduit's own program names the systems it deploys


def estimate(args: argparse.Namespace) -> int:
    if args.events_per_day < 0:
        raise cost.CostError(f"--events-per-day must be 0 or more, not {args.events_per_day}")
    project = load_project(args.project_dir)
    config = load_stack(project, args.stack)
    systems = config.values.get(SYSTEMS_KEY)
    if systems is None:  # not Conduit: no profile of its flows; say what its resources are billed by
        document = run_stack(args.project_dir, args.stack, timeout_seconds=args.timeout)
        found = cost.resources_priced(document)
        print(json.dumps({"stack": args.stack, "resources": found}, indent=2) if args.json
              else cost.render_resources(project.name, args.stack, found))
        return 0
    region = config.values.get("aws:region")
    if not region:
        raise cost.CostError(f"Pulumi.{args.stack}.yaml sets no aws:region, so the stack's prices are unknown")
    document = cost.estimate(cost.load(cost.PROFILE), cost.load(cost.PRICES), args.stack, region,
                             args.events_per_day, args.price_region, systems=json.loads(systems))
    print(json.dumps(document, indent=2) if args.json else cost.render(document))
    return 0


def refresh_prices(args: argparse.Namespace) -> int:
    table = cost.load(cost.PRICES)
    today = datetime.date.today().isoformat()
    for region in args.region:
        missing = price_list.refresh_region(table, region, today)
        print(f"{region}: prices from AWS's price list" + (f"; not found, left unchecked: {', '.join(missing)}"
                                                          if missing else ""))
    cost.PRICES.write_text(json.dumps(table, indent=2) + "\n")
    print(f"wrote {cost.PRICES}")
    return 0
