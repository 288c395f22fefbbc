"""Cat feeder on the local cloud: a flashed bundle runs on the host MicroPython and serves clicks."""

from __future__ import annotations

import contextlib
import json
import queue
import ssl
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from conduit.flash import local_identity, micropython, write_bundle
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
from infra.systems import CAT_FEEDER

FEEDER = "kitchen"


class CatFeederScenario(Scenario):
    system = CAT_FEEDER

    def demo(self, stage: Stage) -> bool:
        print("\nCat feeder: a click -> the EventBridge ledger -> MQTT -> the firmware on MicroPython -> its "
              "reports -> the ledger -> GET /feeders")
        emulator, outputs = stage.emulator, stage.outputs
        with tempfile.TemporaryDirectory(prefix="conduit-demo-feeder-") as scratch:
            bundle = write_bundle(local_identity(stage.deployment, FEEDER), Path(scratch), ("", ""), feed_seconds=1)
            say(f"flashed the '{FEEDER}' bundle to {bundle} (certificate, key and CA as DER, device.json)")
            device = subprocess.Popen([micropython(), "host.py", "1", "60"], cwd=bundle,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in device.stdout or ():
                if '"online"' in line:
                    break
            started = time.perf_counter()
            url = outputs["apiUrl"] + "click"
            hallway = call_api(emulator, url, "POST", {"feeder": "hallway", "clickType": "LONG"})
            kitchen = call_api(emulator, url, "POST", {
                "feeder": FEEDER, "devicePayload": {"clickType": "SINGLE"},
                "deviceEvent": {"buttonClicked": {"reportedTime": 1111111}}})
            say(f"clicked hallway LONG -> {hallway.status}, kitchen SINGLE (original button shape) -> "
                f"{kitchen.status}")
            out, _ = device.communicate(timeout=90)
            for raw in out.splitlines():
                entry = json.loads(raw)
                if entry[0] == "pin":
                    say(f"device: pin {entry[1]} -> {entry[2]} ({'left' if entry[1] in (2, 3) else 'right'} bowl)")
                elif entry[0] == "state":
                    bowls = f" {entry[1]['bowls']}" if "bowls" in entry[1] else ""
                    say(f"device published {entry[1]['state']}{bowls}", time.perf_counter() - started)
        kitchen = wait_until(lambda: (view := call_api(emulator, outputs["apiUrl"] + f"feeders/{FEEDER}").body)
                             .get("confirmed") and view, 30, "the kitchen's click confirmed at GET /feeders")
        listed = call_api(emulator, outputs["apiUrl"] + "feeders").body["feeders"]
        say(f"GET /feeders/{FEEDER} -> state {kitchen['state']}, last command {kitchen['lastCommand']}, "
            f"confirmed {kitchen['confirmed']}; GET /feeders lists {[f['feeder'] for f in listed]}",
            time.perf_counter() - started)
        say("the ledger archive keeps every click and every report for replay: "
            f"conduit replay --stack {stage.stack} --since <time>")
        return device.returncode == 0 and kitchen["state"] == "fed"

    def bench(self, stage: Stage, options: BenchOptions) -> dict[str, Any]:
        """Click -> ledger -> rule -> feeder -> data plane -> the command at the device's MQTT topic."""
        url = stage.outputs["apiUrl"] + "click"
        with device_listener(stage) as arrived:

            def flow(n: int) -> None:
                clicked = call_api(stage.emulator, url, "POST", {"feeder": FEEDER, "clickType": "SINGLE"})
                expect(clicked.status == 202, f"POST /click {n} should answer 202", clicked)
                arrived.get(timeout=60)

            latency = measure("click -> ledger -> MQTT at the device", options.events, flow, options.progress)
        return {"flows": {"click": latency.figures()}}

    def soak(self, stage: Stage, options: SoakOptions) -> list[Account]:
        """Clicks at once, in both shapes, with unknown feeders and broken bodies mixed in: every
        accepted click reaches the device's topic, every other is refused with a 4xx."""
        emulator, url = stage.emulator, stage.outputs["apiUrl"] + "click"
        bodies: list[Any] = []
        for n in range(options.scale // 2):
            bodies.append({"feeder": FEEDER, "clickType": ["SINGLE", "DOUBLE", "LONG"][n % 3]})
            if n % 10 == 0:
                bodies += [{"feeder": "garage", "clickType": "SINGLE"}, {"feeder": FEEDER, "devicePayload": []},
                           b"{oops", {"feeder": FEEDER, "clickType": "SINGLE", "reportedTime": 10**40}]
        sqs = emulator.client("sqs")

        def undelivered() -> int:
            return int(sqs.get_queue_attributes(QueueUrl=stage.outputs["undeliveredClicksUrl"],
                                                AttributeNames=["ApproximateNumberOfMessages"]
                                                )["Attributes"]["ApproximateNumberOfMessages"])

        with device_listener(stage) as arrived, ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(
                lambda body: call_api(emulator, url, "POST", body, timeout=options.patience).status, bodies))
            accepted = sum(s == 202 for s in statuses)
            received: list[bytes] = []

            def commands() -> set[str]:
                while not arrived.empty():
                    received.append(arrived.get_nowait())
                return {json.loads(payload)["id"] for payload in received}

            def accounted_for() -> bool:
                return len(commands()) + undelivered() >= accepted

            options.wait(stage, accounted_for, f"{accepted} accepted click(s) at the device or undelivered",
                         interval=0.2)
        dead, served = undelivered(), commands()
        problems = [f"{sum(s >= 500 for s in statuses)} click(s) got a 5xx"] if any(s >= 500 for s in statuses) else []
        outcomes = {"commands at the device": len(served), "undelivered (DLQ)": dead,
                    "refused with a 4xx": sum(400 <= s < 500 for s in statuses)}
        notes = [f"{len(received) - len(served)} command(s) heard again under the same id: the device serves an "
                 "id once"] if len(received) > len(served) else []
        return [Account("cat feeder (clicks)", len(bodies), outcomes, problems, notes=notes)]

    def usage_flows(self) -> list[UsageFlow]:
        return [UsageFlow("click", "click", 10, usage_clicks)]


@contextlib.contextmanager
def device_listener(stage: Stage, answer: bool = False) -> Iterator[queue.Queue[bytes]]:
    """The kitchen feeder's identity subscribed to its action topic over mutual TLS. With `answer`,
    it reports like the firmware: `feeding` then `fed`, each naming the command it serves (QoS 1)."""
    device = stage.outputs["devices"][FEEDER]
    arrived: queue.Queue[bytes] = queue.Queue()
    with tempfile.TemporaryDirectory(prefix="conduit-device-") as scratch:
        cert, key, ca = (Path(scratch) / n for n in ("cert.pem", "key.pem", "ca.pem"))
        cert.write_text(device["certificatePem"])
        key.write_text(device["privateKey"])
        ca.write_bytes(stage.emulator.mqtt_ca())
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device["thingName"])
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        client.tls_set_context(context)

        def on_message(_client: Any, _userdata: Any, message: Any) -> None:
            arrived.put(message.payload)
            if answer:
                command = json.loads(message.payload)
                for state in ("feeding", "fed"):
                    client.publish(device["stateTopic"], json.dumps({
                        "state": state, "event": command["event"], "bowls": ["left"], "queued": 0,
                        "command": command["reportedTime"], "uptime_s": 1}), qos=1)

        client.on_message = on_message
        client.connect("localhost", stage.emulator.mqtt_port)
        client.subscribe(device["actionTopic"], qos=1)
        client.loop_start()
        time.sleep(0.5)
        try:
            yield arrived
        finally:
            client.loop_stop()
            client.disconnect()


def usage_clicks(stage: Stage, clicks: int) -> ClientUsage:
    """Clicks served by a device that answers like the firmware; done when GET /feeders' projection
    shows each confirmed. The device's side is priced as IoT Core meters it: the command delivered
    to it, its PUBACK (a 5 KB message under MQTT 3.1.1) and its two reports."""
    emulator, outputs = stage.emulator, stage.outputs
    feeders = outputs["feedersTable"]
    dynamodb = emulator.client("dynamodb")
    with device_listener(stage, answer=True) as arrived:
        for n in range(clicks):
            at = int(time.time() * 1000)
            clicked = call_api(emulator, outputs["apiUrl"] + "click", "POST", {
                "feeder": FEEDER, "devicePayload": {"clickType": "SINGLE"},
                "deviceEvent": {"buttonClicked": {"reportedTime": at}}})
            expect(clicked.status == 202, f"POST /click {n} should answer 202", clicked)
            arrived.get(timeout=60)
            wait_until(lambda a=at: int(dynamodb.get_item(TableName=feeders, Key={"feeder": {"S": FEEDER}})
                                        .get("Item", {}).get("confirmedCommandAt", {}).get("N", 0)) >= a,
                       60, f"click {n} confirmed", interval=0.02)
    state_topic = outputs["devices"][FEEDER]["stateTopic"]
    return ClientUsage(Counter({"apiGateway.httpRequests": clicks, "iot.messages": 4 * clicks}),
                       device_topics=[state_topic] * (2 * clicks))
