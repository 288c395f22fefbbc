"""Currency stream on the local cloud: rates in through the API, out of the durable view."""

from __future__ import annotations

import time

from conduit.local.scenario import BenchOptions, Scenario, Stage, expect, latencies, percentiles, say
from conduit.local.traffic import call_api, wait_until


class CurrencyStreamScenario(Scenario):
    system_name = "currency-stream"

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

    def bench(self, stage: Stage, options: BenchOptions) -> None:
        emulator = stage.emulator
        url = stage.outputs["apiUrl"] + "currency"

        def flow(n: int) -> None:
            rate = f"{n + 1}.25"
            posted = call_api(emulator, url, "POST", {"symbol": "BEN", "rate": rate})
            expect(posted.status == 200, f"POST /currency {n} should answer 200", posted)
            wait_until(lambda: call_api(emulator, url).body["rates"].get("BEN") == rate, 60,
                       f"rate {n} in the view", interval=0.01)

        print(f"  POST /currency -> stream -> SNS -> view   {percentiles(latencies(options.events, flow))}")
