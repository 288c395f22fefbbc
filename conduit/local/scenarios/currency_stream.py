"""Currency stream on the local cloud: rates in through the API, out of the durable view."""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from conduit.local.scenario import (
    Account,
    BenchOptions,
    ClientUsage,
    Scenario,
    SoakOptions,
    Stage,
    UsageFlow,
    expect,
    measure,
    say,
)
from conduit.local.traffic import call_api, wait_until
from infra.systems import CURRENCY_STREAM


class CurrencyStreamScenario(Scenario):
    system = CURRENCY_STREAM

    def demo(self, stage: Stage) -> bool:
        print("\nCurrency stream: rates in, through the table's stream and SNS, into the view")
        emulator = stage.emulator
        url = stage.outputs["apiUrl"] + "currency"
        exact = "0.30000000000000004"  # a float would round it

        def view() -> dict[str, str]:
            return call_api(emulator, url).body["rates"]

        steps = [("POST", {"symbol": "USD", "rate": "1.00"}, lambda v: v.get("USD") == "1"),
                 ("POST", {"symbol": "EUR", "rate": "0.93"}, lambda v: v.get("EUR") == "0.93"),
                 ("POST", {"symbol": "USD", "rate": exact}, lambda v: v.get("USD") == exact),
                 ("DELETE", "USD", lambda v: "USD" not in v)]
        for method, body, arrived in steps:
            started = time.perf_counter()
            result = call_api(emulator, f"{url}/{body}" if method == "DELETE" else url, method,
                              None if method == "DELETE" else body)
            wait_until(lambda arrived=arrived: arrived(view()), 30, "the change in the view")
            say(f"{method} {body} -> {result.status}; view now {view()}", time.perf_counter() - started)
        bad = call_api(emulator, url, "POST", {"symbol": "USD"})
        say(f"POST {{'symbol': 'USD'}} (no rate) -> {bad.status} {bad.body.get('message', '')[:70]}")
        return bad.status == 400

    def bench(self, stage: Stage, options: BenchOptions) -> dict[str, Any]:
        """POST /currency -> stream -> SNS -> queue -> view: done when the view table holds the rate
        (read directly, not through GET /currency and its function)."""

        def flow(n: int) -> None:
            post_and_view(stage, "BEN", f"{n + 1}.25", interval=0.01)

        latency = measure("POST /currency -> stream -> SNS -> view", options.events, flow, options.progress)
        return {"flows": {"currency": latency.figures()}}

    def soak(self, stage: Stage, options: SoakOptions) -> list[Account]:
        return [soak_rates(stage, options)]

    def usage_flows(self) -> list[UsageFlow]:
        return [UsageFlow("currency update", "update", 20, usage_updates)]


def post_and_view(stage: Stage, symbol: str, rate: str, interval: float) -> None:
    """POST /currency, then wait until the view table (read directly) holds the rate."""
    emulator, outputs = stage.emulator, stage.outputs
    posted = call_api(emulator, outputs["apiUrl"] + "currency", "POST", {"symbol": symbol, "rate": rate})
    expect(posted.status == 200, f"POST /currency {symbol} {rate} should answer 200", posted)
    dynamodb = emulator.client("dynamodb")
    wait_until(lambda: dynamodb.get_item(TableName=outputs["viewTable"], Key={"symbol": {"S": symbol}})
               .get("Item", {}).get("rate", {}).get("N") == rate, 60, f"{symbol} {rate} in the view", interval=interval)


def usage_updates(stage: Stage, updates: int) -> ClientUsage:
    for n in range(updates):
        post_and_view(stage, "USG", f"{n + 1}.5", interval=0.02)
    return ClientUsage(Counter({"apiGateway.httpRequests": updates}))


def soak_rates(stage: Stage, options: SoakOptions) -> Account:
    """Concurrent bursts of writes and deletes on a few symbols, with bad bodies mixed in: every call
    answered without a 5xx, and the view ends equal to the rates table."""
    emulator = stage.emulator
    url = stage.outputs["apiUrl"] + "currency"
    rng = random.Random(11)
    calls: list[tuple[str, str, Any]] = []
    for n in range(options.scale * 2):
        symbol = rng.choice(["SKA", "SKB", "SKC"])
        roll = rng.random()
        if roll < 0.15:
            calls.append(("DELETE", f"{url}/{symbol}", None))
        elif roll < 0.25:
            calls.append(("POST", url, rng.choice([{"symbol": symbol}, {"symbol": symbol.lower(), "rate": "1"},
                                                    {"symbol": symbol, "rate": "1e-999"}, b"{oops"])))
        else:
            calls.append(("POST", url, {"symbol": symbol, "rate": f"{n + 1}.{rng.randrange(1000):03d}"}))
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(
            lambda c: call_api(emulator, c[1], c[0], c[2], timeout=options.patience).status, calls))
    table = emulator.client("dynamodb")

    def table_rates() -> dict[str, str]:
        items = table.scan(TableName=stage.outputs["ratesTable"], ConsistentRead=True)["Items"]
        return {i["symbol"]["S"]: str(Decimal(i["rate"]["N"])) for i in items}

    def converged() -> bool:
        view = call_api(emulator, url, timeout=options.patience).body["rates"]
        return {k: str(Decimal(v)) for k, v in view.items() if k.startswith("SK")} == table_rates()

    problems = []
    try:
        options.wait(stage, converged, "the view to equal the rates table", interval=0.5)
    except Exception as exc:
        problems.append(f"the view never equalled the table: {exc}")
    outcomes = {"applied": sum(s in (200, 204) for s in statuses),
                "refused with a 4xx (bad body, nothing to delete)": sum(400 <= s < 500 for s in statuses)}
    if any(s >= 500 for s in statuses):
        problems.append(f"{sum(s >= 500 for s in statuses)} call(s) got a 5xx")
    return Account("currency stream (concurrent writes)", len(calls), outcomes, problems)
