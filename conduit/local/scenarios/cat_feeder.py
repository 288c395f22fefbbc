"""Cat feeder on the local cloud: a flashed bundle runs on the host MicroPython and serves clicks."""

from __future__ import annotations

import json
import queue
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from conduit.flash import local_identity, micropython, write_bundle
from conduit.local.scenario import BenchOptions, Scenario, Stage, expect, latencies, percentiles, say
from conduit.local.traffic import call_api

FEEDER = "kitchen"


class CatFeederScenario(Scenario):
    system_name = "cat-feeder"

    def demo(self, stage: Stage) -> bool:
        print("\nCat feeder: a click -> the EventBridge ledger -> MQTT -> the firmware on MicroPython")
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
        say(f"the ledger archive keeps every click for replay: conduit replay --stack {stage.stack} --since <time>")
        return device.returncode == 0

    def bench(self, stage: Stage, options: BenchOptions) -> None:
        """Click -> ledger -> rule -> feeder -> data plane -> the command at the device's MQTT topic."""
        emulator, outputs = stage.emulator, stage.outputs
        device = outputs["devices"][FEEDER]
        arrived: queue.Queue[bytes] = queue.Queue()
        with tempfile.TemporaryDirectory(prefix="conduit-bench-") as scratch:
            cert, key, ca = (Path(scratch) / n for n in ("cert.pem", "key.pem", "ca.pem"))
            cert.write_text(device["certificatePem"])
            key.write_text(device["privateKey"])
            ca.write_bytes(emulator.mqtt_ca())
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device["thingName"])
            context = ssl.create_default_context(cafile=str(ca))
            context.load_cert_chain(str(cert), str(key))
            client.tls_set_context(context)
            client.on_message = lambda _c, _u, message: arrived.put(message.payload)
            client.connect("localhost", emulator.mqtt_port)
            client.subscribe(device["actionTopic"], qos=1)
            client.loop_start()
            time.sleep(0.5)
            url = outputs["apiUrl"] + "click"

            def flow(n: int) -> None:
                clicked = call_api(emulator, url, "POST", {"feeder": FEEDER, "clickType": "SINGLE"})
                expect(clicked.status == 202, f"POST /click {n} should answer 202", clicked)
                arrived.get(timeout=60)

            try:
                print(f"  click -> ledger -> MQTT at the device     {percentiles(latencies(options.events, flow))}")
            finally:
                client.loop_stop()
                client.disconnect()
