"""Two stacks in one account and region (dev and local, side by side on one emulator): a click on
one never feeds the other's cat, a device of one can neither hear nor speak for the other, and a
device can connect only as the thing its certificate belongs to."""

from __future__ import annotations

import json
import queue
import ssl
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from conduit.local import broker_rules
from conduit.local import emulator as emulator_module
from conduit.local.deployment import LocalDeployment, deploy
from conduit.local.traffic import call_api, wait_until
from tests.conftest import REPO

pytestmark = pytest.mark.local_cloud


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> dict[str, LocalDeployment]:
    state_dir = tmp_path_factory.mktemp("two-stacks")
    try:
        with pytest.MonkeyPatch.context() as patch:
            # AWS's keep-alive floor is 30 s; lowered here to see a silent device dropped in seconds.
            patch.setenv(broker_rules.MIN_KEEP_ALIVE_VARIABLE, "1")
            patch.setenv("IOT_RETRANSMIT_SECONDS", "2")  # ministack's wait before resending a QoS 1 message
            local = deploy("local", REPO, state_dir)
        dev = deploy("dev", REPO, state_dir, beside=True)
        assert dev.emulator.pid == local.emulator.pid, "one emulator: one account and region"
        yield {"local": local, "dev": dev}
    finally:
        emulator_module.stop(state_dir)


class Device:
    """A feeder's identity on the broker: its certificate, a client id, what it hears."""

    def __init__(self, client: mqtt.Client, heard: queue.Queue, refusals: list[Any], dropped: list[Any]):
        self.client, self.heard, self.refusals, self.dropped = client, heard, refusals, dropped

    def hears(self, within: float = 5.0) -> list[dict[str, Any]]:
        deadline, found = time.monotonic() + within, []
        while time.monotonic() < deadline:
            try:
                found.append(json.loads(self.heard.get(timeout=0.2)))
            except queue.Empty:
                continue
        return found


@contextmanager
def device(deployment: LocalDeployment, feeder: str, client_id: str | None = None,
           subscribe: str | None = None, will: dict[str, Any] | None = None, keep_alive: int = 60,
           persistent: bool = False, acknowledge: bool = True) -> Iterator[Device | None]:
    """Connect with `feeder`'s certificate (as its own thing unless `client_id` says otherwise) and
    subscribe to its action topic (or `subscribe`); None when the broker refuses the connection.
    `persistent` keeps the session (clean session off); without `acknowledge` no PUBACK is sent."""
    identity = deployment.revealed_outputs["catFeeder"]["devices"][feeder]
    heard: queue.Queue = queue.Queue()
    refusals: list[Any] = []
    dropped: list[Any] = []
    connected: queue.Queue = queue.Queue()
    with tempfile.TemporaryDirectory() as scratch:
        cert, key, ca = (Path(scratch) / n for n in ("cert.pem", "key.pem", "ca.pem"))
        cert.write_text(identity["certificatePem"])
        key.write_text(identity["privateKey"])
        ca.write_bytes(deployment.emulator.mqtt_ca())
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or identity["thingName"],
                             clean_session=not persistent)
        client.manual_ack_set(not acknowledge)
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        client.tls_set_context(context)
        if will is not None:
            client.will_set(identity["stateTopic"], json.dumps(will), qos=1)
        client.on_connect = lambda _c, _u, _f, reason, _p: connected.put(not reason.is_failure)
        client.on_message = lambda _c, _u, message: heard.put(message.payload)
        client.on_subscribe = lambda _c, _u, _mid, reasons, _p: refusals.extend(r for r in reasons if r.is_failure)
        client.on_disconnect = lambda _c, _u, _f, reason, _p: (dropped.append(reason), connected.put(False))
        try:
            client.connect("localhost", deployment.emulator.mqtt_port, keepalive=keep_alive)
        except (ssl.SSLError, OSError):
            yield None
            return
        client.loop_start()
        try:
            try:
                accepted = connected.get(timeout=5)
            except queue.Empty:
                accepted = False
            if not accepted:
                yield None
                return
            client.subscribe(subscribe or identity["actionTopic"], qos=1)
            time.sleep(0.5)
            yield Device(client, heard, refusals, dropped)
        finally:
            client.loop_stop()
            client.disconnect()


def click(deployment: LocalDeployment, feeder: str) -> str:
    answer = call_api(deployment.emulator, deployment.outputs["catFeeder"]["apiUrl"] + "click", "POST",
                      {"feeder": feeder, "clickType": "SINGLE"})
    assert answer.status == 202, answer
    return answer.body["eventId"]


def test_the_stacks_feeders_are_different_things_on_different_topics(stacks):
    local, dev = (stacks[s].outputs["catFeeder"]["devices"]["kitchen"] for s in ("local", "dev"))
    assert local["thingName"] != dev["thingName"]
    assert local["actionTopic"] != dev["actionTopic"] and local["stateTopic"] != dev["stateTopic"]


def test_a_click_on_one_stack_feeds_only_that_stacks_kitchen(stacks):
    with device(stacks["local"], "kitchen") as local, device(stacks["dev"], "kitchen") as dev:
        assert local and dev
        event = click(stacks["dev"], "kitchen")
        assert [c["id"] for c in dev.hears()] == [event]
        assert local.hears(within=1) == [], "the other stack's kitchen cat was not fed"
        event = click(stacks["local"], "kitchen")
        assert [c["id"] for c in local.hears()] == [event] and dev.hears(within=1) == []


def test_a_device_cannot_subscribe_to_the_other_stacks_commands(stacks):
    other = stacks["dev"].outputs["catFeeder"]["devices"]["kitchen"]["actionTopic"]
    with device(stacks["local"], "kitchen", subscribe=other) as spy:
        assert spy is not None, "the device itself may connect"
        click(stacks["dev"], "kitchen")
        assert spy.hears() == [], "a refused subscription delivers nothing"
        assert spy.refusals or spy.dropped, "the broker refused the subscription (MQTT 3.1.1: it closes the link)"


def test_a_device_cannot_report_into_the_other_stacks_ledger(stacks):
    dev = stacks["dev"]
    dev_state = dev.outputs["catFeeder"]["devices"]["hallway"]["stateTopic"]
    with device(stacks["local"], "hallway") as spoofer:
        assert spoofer
        spoofer.client.publish(dev_state, json.dumps({"state": "fed", "uptime_s": 1}), qos=1)
        time.sleep(3)
        assert spoofer.dropped, "a publish its policy refuses closes the device's link, as AWS IoT does"
    view = call_api(dev.emulator, dev.outputs["catFeeder"]["apiUrl"] + "feeders/hallway").body
    assert view["state"] is None, "dev's hallway never spoke; the local stack's device may not speak for it"


@pytest.mark.parametrize("client_id", ["conduit-dev-feeder-kitchen", "conduit-local-feeder-hallway", "anything"])
def test_a_device_can_connect_only_as_its_own_thing(stacks, client_id):
    with device(stacks["local"], "kitchen", client_id=client_id) as impostor:
        assert impostor is None, f"the kitchen's certificate connected as {client_id}"


def test_a_device_reporting_on_its_own_topic_reaches_its_own_stacks_view(stacks):
    local = stacks["local"]
    topic = local.outputs["catFeeder"]["devices"]["hallway"]["stateTopic"]
    with device(local, "hallway") as own:
        assert own
        own.client.publish(topic, json.dumps({"state": "online", "uptime_s": 1}), qos=1)
        url = local.outputs["catFeeder"]["apiUrl"] + "feeders/hallway"
        wait_until(lambda: call_api(local.emulator, url).body["state"] == "online", 30, "hallway online")


def test_a_feeder_that_vanishes_shows_offline_through_its_last_will(stacks):
    """The firmware registers `{"state": "offline"}` as its will (firmware/app.py); the broker publishes it
    when the link dies without a DISCONNECT, and GET /feeders says so."""
    local = stacks["local"]
    url = local.outputs["catFeeder"]["apiUrl"] + "feeders/kitchen"
    with device(local, "kitchen", will={"state": "offline"}) as feeder:
        assert feeder
        feeder.client.publish(local.outputs["catFeeder"]["devices"]["kitchen"]["stateTopic"],
                              json.dumps({"state": "online", "uptime_s": 1}), qos=1)
        wait_until(lambda: call_api(local.emulator, url).body["state"] == "online", 30, "kitchen online")
        feeder.client.loop_stop()
        feeder.client.socket().close()  # the link dies: no DISCONNECT is sent
        wait_until(lambda: call_api(local.emulator, url).body["state"] == "offline", 30, "kitchen offline")


def _state(deployment: LocalDeployment, feeder: str) -> str | None:
    return call_api(deployment.emulator, deployment.outputs["catFeeder"]["apiUrl"] + f"feeders/{feeder}").body["state"]


def test_a_publish_over_128_kb_closes_the_link_and_reaches_nobody(stacks):
    """AWS IoT Core refuses a PUBLISH whose payload passes 128 KB; one just under it is delivered."""
    local = stacks["local"]
    topic = local.outputs["catFeeder"]["devices"]["hallway"]["stateTopic"]
    with device(local, "hallway") as big:
        assert big
        big.client.publish(topic, json.dumps({"state": "error", "error": "x", "pad": "p" * (129 * 1024)}), qos=1)
        time.sleep(3)
        assert big.dropped, "the broker closed the link"
    assert _state(local, "hallway") != "error"
    with device(local, "hallway") as under:
        assert under
        under.client.publish(topic, json.dumps({"state": "feeding", "pad": "p" * (120 * 1024)}), qos=1)
        wait_until(lambda: _state(local, "hallway") == "feeding", 30, "the 120 KB report delivered")


def test_a_client_id_over_128_bytes_is_refused(stacks):
    with device(stacks["local"], "kitchen", client_id="k" * 129) as impostor:
        assert impostor is None
    log = (Path(stacks["local"].emulator.state_dir) / "emulator.log").read_text()
    assert "refused a client id of 129 bytes" in log


@pytest.mark.parametrize(("requested", "applied"), [(0, 1200), (5, 30), (30, 30), (45, 45), (1200, 1200), (1201, 1200)])
def test_the_keep_alive_applied_is_the_one_aws_iot_core_applies(requested, applied):
    assert broker_rules.effective_keep_alive(requested) == applied


def test_a_device_silent_past_one_and_a_half_keep_alives_is_dropped_and_its_will_published(stacks):
    """The link stays open but nothing is sent: AWS IoT Core disconnects after 1.5 keep-alives
    (MQTT_KEEP_ALIVE_TIMEOUT) and publishes the will, so the feeder shows offline."""
    local = stacks["local"]
    with device(local, "kitchen", will={"state": "offline"}, keep_alive=2) as feeder:
        assert feeder
        feeder.client.publish(local.outputs["catFeeder"]["devices"]["kitchen"]["stateTopic"],
                              json.dumps({"state": "online", "uptime_s": 2}), qos=1)
        wait_until(lambda: _state(local, "kitchen") == "online", 30, "kitchen online")
        feeder.client.loop_stop()  # silent from here on: no PINGREQ, the socket left open
        wait_until(lambda: _state(local, "kitchen") == "offline", 30, "kitchen offline")
    log = (Path(local.emulator.state_dir) / "emulator.log").read_text()
    assert "past 1.5 x its 2 s keep-alive: disconnected" in log


def test_a_device_that_pings_stays_connected_past_its_keep_alive(stacks):
    with device(stacks["local"], "hallway", keep_alive=1) as feeder:
        assert feeder
        time.sleep(4)
        assert not feeder.dropped


def test_subscribing_twice_to_one_filter_hears_each_command_once(stacks):
    """A second SUBSCRIBE to a held filter replaces it (MQTT 3.1.1 section 3.8.4), as AWS IoT Core does."""
    local = stacks["local"]
    with device(local, "hallway") as feeder:
        assert feeder
        feeder.client.subscribe(local.outputs["catFeeder"]["devices"]["hallway"]["actionTopic"], qos=1)
        time.sleep(0.5)
        event_id = click(local, "hallway")
        assert [c["id"] for c in feeder.hears(within=8)] == [event_id]


def test_an_unacknowledged_command_is_sent_again_when_its_persistent_session_resumes(stacks):
    local = stacks["local"]
    with device(local, "hallway", persistent=True, acknowledge=False) as feeder:
        assert feeder
        event_id = click(local, "hallway")
        assert event_id in [c["id"] for c in feeder.hears(within=6)]
        feeder.client.loop_stop()
        feeder.client.socket().close()  # gone before its PUBACK
    time.sleep(1)
    with device(local, "hallway", persistent=True) as again:
        assert again
        assert event_id in [c["id"] for c in again.hears(within=8)]


def test_a_deactivated_certificate_disconnects_its_device_and_cannot_reconnect(stacks):
    """UpdateCertificate: "within a few minutes of updating a certificate from the ACTIVE state to any
    other state, AWS IoT disconnects all devices that used that certificate to connect"."""
    local = stacks["local"]
    iot = local.emulator.client("iot")
    certificate = local.outputs["catFeeder"]["devices"]["hallway"]["certificateId"]
    try:
        with device(local, "hallway") as feeder:
            assert feeder
            iot.update_certificate(certificateId=certificate, newStatus="INACTIVE")
            wait_until(lambda: bool(feeder.dropped), 15, "the device disconnected")
        with device(local, "hallway") as again:
            assert again is None
    finally:
        iot.update_certificate(certificateId=certificate, newStatus="ACTIVE")
    with device(local, "hallway") as restored:
        assert restored
