"""`make demo`: deploy a stack onto the local cloud, drive every system, show what happened where."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from infra.cli.local import emulator as emulator_module
from infra.cli.local.commands import deploy
from infra.cli.local.emulator import Emulator
from infra.cli.local.flows import MessageIngestFlow, call_api, csv_file, observe_topic, received, wait_until
from infra.cli.local.permissions import report, unused_permissions

BAD_ROWS = [
    "not_a_timestamp!,location-03,wireless,router-1,not_a_number,device-1",  # the originals' bad row
    "1559041000.5,location-09,wired,router-2,abc,device-4,7.25",
    "1559041001.5,location-09,wired,router-2,1.5,device-4,7.25,surplus",
]


def _say(step: str, seconds: float | None = None) -> None:
    print(f"  {step}" + (f"  [{seconds * 1000:.0f} ms]" if seconds is not None else ""))


def demo_message_ingest(emulator: Emulator, outputs: dict[str, Any]) -> bool:
    print("\nMessage ingest: a CSV with good and bad rows, then the HTTP API")
    flow = MessageIngestFlow(emulator, outputs)
    good = 50
    body = csv_file(good) + ("\n".join(BAD_ROWS) + "\n").encode()
    started = time.perf_counter()
    flow.drop_csv("demo/readings.csv", body)
    wait_until(lambda: flow.stored() >= good, 60, f"{good} stored readings")
    stored_at = time.perf_counter() - started
    report_ = wait_until(lambda: flow.quarantine("demo/readings.csv"), 30, "the quarantine report")
    _say(f"dropped s3://{outputs['bucket']}/demo/readings.csv: {good + len(BAD_ROWS)} rows")
    _say(f"{flow.stored()} readings stored in table {outputs['table']}", stored_at)
    for rejected in report_["rejected"]:
        _say(f"quarantined line {rejected['line']}: {rejected['reason'][:110]}")
    dead, in_flight = flow.dead_lettered(), flow.in_flight()
    _say(f"{dead} message(s) in the readings DLQ, {in_flight} still in flight")
    sent, accounted = good + len(BAD_ROWS), flow.stored() + len(report_["rejected"]) + dead
    _say(f"nothing lost: {sent} rows sent = {flow.stored()} stored + {len(report_['rejected'])} quarantined "
         f"+ {dead} dead-lettered" if sent == accounted else f"MISMATCH: {sent} sent, {accounted} accounted for")

    reading = {"timestamp": 1559049999.25, "location": "api-demo", "source": "wired", "local_dest": "r",
               "local_avg": 1.5, "remote_dest": "d", "remote_avg": 2.5}
    item = "/message/2019-05-28?time=13:26:39.250000@api-demo"
    change = {k: reading[k] for k in ("source", "local_dest", "remote_dest")} | {"local_avg": 9, "remote_avg": 9}
    for label, call in (
        ("POST /message", lambda: flow.api("POST", "/message", reading)),
        ("GET /message?limit=5", lambda: flow.api("GET", "/message?limit=5")),
        ("GET /message/2019-05-28", lambda: flow.api("GET", "/message/2019-05-28")),
        ("PUT /message/2019-05-28?time=...", lambda: flow.api("PUT", item, change)),
        ("GET /message/2019-05-28?time=...", lambda: flow.api("GET", item)),
        ("DELETE /message/2019-05-28?time=...", lambda: flow.api("DELETE", item)),
        ("DELETE it again", lambda: flow.api("DELETE", item)),
        ("POST /message with a malformed body", lambda: flow.api("POST", "/message", b"{oops")),
        ("GET /message unsigned", lambda: flow.api("GET", "/message", signed=False)),
    ):
        started = time.perf_counter()
        result = call()
        detail = result.body.get("message", "") if isinstance(result.body, dict) else ""
        _say(f"{label} -> {result.status} {detail[:80]}", time.perf_counter() - started)
    return sent == accounted


def demo_upload_extraction(emulator: Emulator, outputs: dict[str, Any]) -> bool:
    print("\nUpload extraction: a text, a CSV and an image, then a search")
    s3 = emulator.client("s3")
    uploads = {"report.txt": "Exchange rates in Zürich rose".encode(),
               "rates.csv": b"symbol,rate\nCHF,0.91\nEUR,0.93\n", "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00"}
    started = time.perf_counter()
    for name, body in uploads.items():
        s3.put_object(Bucket=outputs["bucket"], Key=f"uploads/{name}", Body=body)
    url = outputs["apiUrl"] + "search?q=rates"

    def results() -> list | None:
        body = call_api(emulator, url).body
        return body["results"] if isinstance(body, dict) and body.get("count", 0) >= 1 else None

    found = wait_until(results, 30, "a searchable document")
    _say(f"uploaded {len(uploads)} objects; GET /search?q=rates found {[r['key'] for r in found]}",
         time.perf_counter() - started)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=outputs["bucket"])["Contents"])
    _say("objects now: " + ", ".join(keys))
    return any(k == "quarantine/photo.png.json" for k in keys)


def demo_currency_stream(emulator: Emulator, outputs: dict[str, Any]) -> bool:
    print("\nCurrency stream: rates in, through the table's stream and SNS, into the view")
    url = outputs["apiUrl"] + "currency"
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
        _say(f"{method} {body} -> {result.status}; view now {view()}", time.perf_counter() - started)
    bad = call_api(emulator, url, "POST", {"symbol": "USD"})
    _say(f"POST {{'symbol': 'USD'}} (no rate) -> {bad.status} {bad.body.get('message', '')[:70]}")
    return bad.status == 400


def demo_exchange_events(emulator: Emulator, outputs: dict[str, Any]) -> bool:
    print("\nExchange events: POST /event -> IoT topics -> archive, fraud check, alerts")
    alerts = observe_topic(emulator, outputs["alertsTopicArn"], "demo-fraud-alerts")
    url = outputs["apiUrl"] + "event"
    started = time.perf_counter()
    posted = [call_api(emulator, url, "POST", body) for body in (
        {"type": "buy", "price": 123.45, "account": "alice"}, {"type": "sell", "price": 99.5},
        {"type": "buy", "price": 25000, "account": "bob"})]
    _say("POSTed a small buy, a sell and a large buy -> " + ", ".join(str(p.status) for p in posted))
    bad = call_api(emulator, url, "POST", {"type": "buy/#"})
    _say(f"POST with type 'buy/#' -> {bad.status} {bad.body.get('message', '')[:80]}")
    table = emulator.client("dynamodb")
    wait_until(lambda: table.scan(TableName=outputs["archiveTable"], Select="COUNT")["Count"] >= 3, 30, "archive")
    _say(f"{table.scan(TableName=outputs['archiveTable'], Select='COUNT')['Count']} events archived in "
         f"{outputs['archiveTable']}", time.perf_counter() - started)
    raised = wait_until(lambda: received(emulator, alerts), 30, "a fraud alert")
    for alert in raised:
        _say(f"alert on {alert['event']['type']} {alert['event'].get('price')}: {'; '.join(alert['reasons'])}",
             time.perf_counter() - started)
    _say("(alerts are also archived in S3 by the rule's s3 action on AWS; the emulator does not run that action)")
    return all(p.status == 202 for p in posted) and bad.status == 400 and len(raised) == 1


def demo_cat_feeder(emulator: Emulator, outputs: dict[str, Any], stack: str, project_dir: Path) -> bool:
    print("\nCat feeder: a click -> the EventBridge ledger -> MQTT -> the firmware on MicroPython")
    import json
    import subprocess
    import tempfile

    from infra.cli.flash import flash, micropython

    with tempfile.TemporaryDirectory(prefix="conduit-demo-feeder-") as scratch:
        bundle = flash(stack, "kitchen", project_dir, Path(scratch), None, feed_seconds=1)
        _say(f"flashed the 'kitchen' bundle to {bundle} (certificate, key and CA as DER, device.json)")
        device = subprocess.Popen([micropython(), "host.py", "1", "60"], cwd=bundle,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in device.stdout:
            if '"online"' in line:
                break
        started = time.perf_counter()
        url = outputs["apiUrl"] + "click"
        hallway = call_api(emulator, url, "POST", {"feeder": "hallway", "clickType": "LONG"})
        kitchen = call_api(emulator, url, "POST", {"feeder": "kitchen", "devicePayload": {"clickType": "SINGLE"},
                                                   "deviceEvent": {"buttonClicked": {"reportedTime": 1111111}}})
        _say(f"clicked hallway LONG -> {hallway.status}, kitchen SINGLE (original button shape) -> {kitchen.status}")
        out, _ = device.communicate(timeout=90)
        for raw in out.splitlines():
            entry = json.loads(raw)
            if entry[0] == "pin":
                _say(f"device: pin {entry[1]} -> {entry[2]} ({'left' if entry[1] in (2, 3) else 'right'} bowl)")
            elif entry[0] == "state":
                _say(f"device published {entry[1]['state']}" + (f" {entry[1].get('bowls')}" if "bowls" in entry[1]
                                                                  else ""), time.perf_counter() - started)
    _say(f"the ledger archive keeps every click for replay: conduit replay --stack {stack} --since <time>")
    return device.returncode == 0


def run_demo(stack: str, project_dir: Path) -> int:
    print(f"Conduit demo: stack '{stack}' on the local cloud (ministack, IAM enforced)")
    ok = False
    try:
        started = time.perf_counter()
        record = deploy(stack, project_dir)
        emulator = Emulator(**record["emulator"])
        resources = sum(1 for r in record["resources"] if r["custom"])
        print(f"  deployed {resources} resources in {time.perf_counter() - started:.1f}s at {emulator.endpoint}")
        outputs = record["outputs"]
        ok = True
        if "messageIngest" in outputs:
            ok = demo_message_ingest(emulator, outputs["messageIngest"]) and ok
        if "uploadExtraction" in outputs:
            ok = demo_upload_extraction(emulator, outputs["uploadExtraction"]) and ok
        if "currencyStream" in outputs:
            ok = demo_currency_stream(emulator, outputs["currencyStream"]) and ok
        if "exchangeEvents" in outputs:
            ok = demo_exchange_events(emulator, outputs["exchangeEvents"]) and ok
        if "catFeeder" in outputs:
            ok = demo_cat_feeder(emulator, outputs["catFeeder"], stack, project_dir) and ok
        print("\nPermissions granted but never used by this run:")
        print("  " + report(unused_permissions(record, Path(emulator.audit_log))).replace("\n", "\n  "))
    finally:
        stopped = emulator_module.stop()
        print(f"\nlocal cloud {'stopped' if stopped else 'was not running'}; nothing left running")
    return 0 if ok else 1
