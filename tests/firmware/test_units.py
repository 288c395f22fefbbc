# Runs under the host `micropython`: MQTT bytes on a fake socket, the feeding schedule, the device
# loop with fake pins and clock. Prints "N passed, 0 failed" and exits non-zero on any failure.
import sys

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "firmware")

import app  # noqa: E402
import feeder  # noqa: E402
import hardware  # noqa: E402
import mqtt  # noqa: E402


class FakeSocket:
    def __init__(self, incoming=b""):
        self.incoming = bytearray(incoming)
        self.sent = bytearray()

    def feed(self, data):
        self.incoming += data

    def read(self, n):
        chunk = bytes(self.incoming[:n])
        self.incoming = self.incoming[n:]
        return chunk

    def write(self, data):
        self.sent += data
        return len(data)


class FakePoller:
    def __init__(self, sock):
        self.sock = sock

    def poll(self, timeout_ms):
        return [1] if self.sock.incoming else []


class FakePollers:
    """While open, every MQTTClient the device makes polls its socket through a FakePoller."""

    def __enter__(self):
        self.original = original = mqtt.MQTTClient.__init__

        def with_fake_poller(client, client_id, sock, keepalive=60, poller=None):
            original(client, client_id, sock, keepalive, FakePoller(sock))

        mqtt.MQTTClient.__init__ = with_fake_poller
        return self

    def __exit__(self, *exc):
        mqtt.MQTTClient.__init__ = self.original
        return False


class FakeClock:
    def __init__(self):
        self.now = 0

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        self.now += ms


def client(incoming=b""):
    sock = FakeSocket(incoming)
    return mqtt.MQTTClient("feeder-kitchen", sock, keepalive=30, poller=FakePoller(sock)), sock


def test_remaining_length_encoding():
    assert mqtt.encode_length(0) == b"\x00"
    assert mqtt.encode_length(127) == b"\x7f"
    assert mqtt.encode_length(128) == b"\x80\x01"
    assert mqtt.encode_length(16383) == b"\xff\x7f"
    assert mqtt.encode_length(2097151) == b"\xff\xff\x7f"


def test_connect_sends_the_exact_bytes_and_reads_connack():
    c, sock = client(b"\x20\x02\x00\x00")
    c.connect()
    assert bytes(sock.sent) == b"\x10\x1a\x00\x04MQTT\x04\x02\x00\x1e\x00\x0efeeder-kitchen", bytes(sock.sent)


def test_a_refused_connection_raises_with_the_return_code():
    c, _ = client(b"\x20\x02\x00\x05")
    try:
        c.connect()
    except mqtt.MQTTError as exc:
        assert "return code 5" in str(exc)
    else:
        raise AssertionError("no error")


def test_subscribe_and_a_refused_subscription():
    c, sock = client(b"\x90\x03\x00\x01\x01")
    assert c.subscribe("cat-feeder/kitchen/action", qos=1) == 1
    assert bytes(sock.sent) == b"\x82\x1e\x00\x01\x00\x19cat-feeder/kitchen/action\x01"
    c, _ = client(b"\x90\x03\x00\x01\x80")
    try:
        c.subscribe("cat-feeder/hallway/action")
    except mqtt.MQTTError as exc:
        assert "refused the subscription" in str(exc)
    else:
        raise AssertionError("no error")


def test_publish_qos1_and_its_puback():
    c, sock = client()
    pid = c.publish("cat-feeder/kitchen/states", b'{"state":"fed"}', qos=1)
    assert bytes(sock.sent) == b"\x32\x2c\x00\x19cat-feeder/kitchen/states\x00\x01" + b'{"state":"fed"}'
    assert c.unacked == {pid: ("cat-feeder/kitchen/states", b'{"state":"fed"}')}, "kept until its PUBACK"
    sock.feed(b"\x40\x02\x00\x01")
    c.check_msg(0)
    assert c.unacked == {}, "acknowledged: nothing kept"


def test_unacknowledged_qos1_messages_are_resent_flagged_dup_and_bounded():
    c, sock = client()
    c.publish("t", b"a", qos=1)
    sock.sent = bytearray()
    c.resend()
    assert bytes(sock.sent) == b"\x3a\x06\x00\x01t\x00\x01a", "the same pid, the DUP flag set"
    for n in range(mqtt.MAX_UNACKED + 4):
        c.publish("t", b"%d" % n, qos=1)
    assert len(c.unacked) == mqtt.MAX_UNACKED and c.dropped == 5, "memory stays bounded, and says so"


def test_every_field_of_the_client_and_the_device_is_set_in_init():
    c, _ = client()
    assert c.unacked == {} and c.dropped == 0 and c.pid == 0
    motors, _ = pins()
    device = app.Device({"feed_ms": 1000}, lambda: None, motors, FakeClock(), log=lambda *a: None)
    assert device.last_ping == 0 and device.pending == [] and device.unacked == []


def test_an_incoming_qos1_publish_is_delivered_and_acknowledged():
    c, sock = client()
    got = []
    c.on_message = lambda topic, payload: got.append((topic, payload))
    topic, payload = b"cat-feeder/kitchen/action", b'{"event": "SINGLE", "reportedTime": 1}'
    body = mqtt.encode_string(topic) + b"\x00\x07" + payload
    sock.feed(bytes([0x32]) + mqtt.encode_length(len(body)) + body)
    assert c.check_msg(0) == 1
    assert got == [("cat-feeder/kitchen/action", payload)]
    assert bytes(sock.sent) == b"\x40\x02\x00\x07"


def test_a_closed_connection_raises():
    c, _ = client(b"\x30")
    try:
        c.check_msg(0)
    except mqtt.MQTTError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("no error")


def pins():
    changes = []
    make = lambda n: hardware.RecordingPin(n, lambda pin, level: changes.append((pin, level)))  # noqa: E731
    return hardware.motors(make, {"left": [2, 3], "right": [4, 5]}), changes


def test_commands_drive_the_right_bowls_for_the_feed_time():
    motors, changes = pins()
    f = feeder.Feeder(motors, feed_ms=10000)
    diff = lambda a, b: a - b  # noqa: E731
    for event, bowls in (("SINGLE", ["left"]), ("DOUBLE", ["right"]), ("LONG", ["left", "right"])):
        assert f.command(event) is None
        started = f.tick(0, diff)
        assert started["state"] == "feeding" and started["bowls"] == bowls
        assert [b for b in ("left", "right") if motors[b].running] == bowls
        assert f.tick(9999, diff) is None
        assert f.tick(10000, diff)["state"] == "fed"
        assert not motors["left"].running and not motors["right"].running


def test_each_report_names_the_click_it_serves_so_the_cloud_can_confirm_it():
    motors, _ = pins()
    f = feeder.Feeder(motors, feed_ms=100)
    diff = lambda a, b: a - b  # noqa: E731
    f.command("SINGLE", 1111111)
    f.command("LONG")  # a command without a time (an old client) is still served, unnamed
    reports = [f.tick(now, diff) for now in (0, 100, 100, 200)]
    assert reports == [
        {"state": "feeding", "event": "SINGLE", "bowls": ["left"], "queued": 1, "command": 1111111},
        {"state": "fed", "event": "SINGLE", "bowls": ["left"], "queued": 1, "command": 1111111},
        {"state": "feeding", "event": "LONG", "bowls": ["left", "right"], "queued": 0},
        {"state": "fed", "event": "LONG", "bowls": ["left", "right"], "queued": 0}]


def test_commands_during_a_feed_are_queued_not_lost():
    motors, _ = pins()
    f = feeder.Feeder(motors, feed_ms=100)
    diff = lambda a, b: a - b  # noqa: E731
    f.command("SINGLE")
    f.tick(0, diff)
    f.command("DOUBLE")
    f.command("LONG")
    assert f.tick(50, diff) is None and len(f.queue) == 2
    served = []
    now = 100
    while len(served) < 3 and now < 1000:
        change = f.tick(now, diff)
        if change and change["state"] == "fed":
            served.append(change["event"])
        now += 10
    assert served == ["SINGLE", "DOUBLE", "LONG"], served


def test_bad_commands_are_reported_not_raised():
    motors, _ = pins()
    f = feeder.Feeder(motors, feed_ms=100, max_queue=1)
    assert "unknown command" in f.command("TRIPLE")
    assert f.command("SINGLE") is None
    assert "queue full" in f.command("LONG")


def test_the_device_loop_never_blocks_and_reports_states():
    motors, _ = pins()
    clock = FakeClock()
    sock = FakeSocket(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")

    class Dog:
        fed = 0

        def feed(self):
            Dog.fed += 1

    device = app.Device({"client_id": "feeder-kitchen", "action_topic": "cat-feeder/kitchen/action",
                         "state_topic": "cat-feeder/kitchen/states", "feed_ms": 1000, "keepalive": 30},
                        lambda: sock, motors, clock, watchdog=Dog(), log=lambda *a: None)
    with FakePollers():
        device.connect()
        device.last_ping = 0
        payload = b'{"event": "DOUBLE", "reportedTime": 5}'
        body = mqtt.encode_string("cat-feeder/kitchen/action") + b"\x00\x02" + payload
        sock.feed(bytes([0x32]) + mqtt.encode_length(len(body)) + body)
        sent_before = len(sock.sent)
        device.step(poll_ms=0)
        assert motors["right"].running and not motors["left"].running
        clock.now = 1000
        device.step(poll_ms=0)
        assert not motors["right"].running
        published = bytes(sock.sent[sent_before:])
        assert b'"state": "feeding"' in published and b'"state": "fed"' in published
        assert Dog.fed == 2


class FakeWlan:
    def __init__(self, joins_after):
        self.joins_after = joins_after
        self.attempts = 0
        self.enabled = False

    def active(self, on):
        self.enabled = on

    def connect(self, ssid, password):
        self.attempts += 1

    def isconnected(self):
        return self.attempts >= self.joins_after


def test_wifi_retries_with_growing_waits_and_gives_up_in_the_end():
    clock = FakeClock()
    wlan = FakeWlan(joins_after=3)
    assert app.connect_wifi(wlan, "home", "secret", clock) and wlan.attempts == 3 and wlan.enabled
    waited = clock.now
    assert waited == 2 * (20 * 250) + (1 + 2) * 1000, waited  # two failed tries, each polled then backed off
    clock, never = FakeClock(), FakeWlan(joins_after=99)
    assert not app.connect_wifi(never, "home", "secret", clock, attempts=3) and never.attempts == 3


def test_the_device_reconnects_after_a_dropped_connection_and_keeps_serving():
    motors, _ = pins()
    clock = FakeClock()
    sockets = [FakeSocket(b""),  # the broker closes at once: no CONNACK
               FakeSocket(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")]
    opened = []

    def open_tls():
        sock = sockets[len(opened)]
        opened.append(sock)
        return sock

    logs = []
    device = app.Device({"client_id": "feeder-kitchen", "action_topic": "cat-feeder/kitchen/action",
                         "state_topic": "cat-feeder/kitchen/states", "feed_ms": 1000, "keepalive": 30},
                        open_tls, motors, clock, log=lambda *a: logs.append(a))
    with FakePollers():
        device.run(until=lambda d: d.client is not None and not d.pending)
    assert len(opened) == 2, "a second connection after the first dropped"
    assert logs[0][0] == "connection lost" and clock.now >= 1000, logs
    assert b'"state": "online"' in bytes(sockets[1].sent)
    assert bytes(sockets[1].sent).startswith(b"\x10\x1a\x00\x04MQTT\x04\x00"), "clean session off: persistent"


def test_a_state_report_not_acknowledged_before_a_drop_is_sent_again_after_reconnecting():
    motors, _ = pins()
    clock = FakeClock()
    first = FakeSocket(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")  # no PUBACK, then the broker is gone
    second = FakeSocket(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")
    sockets, opened = [first, second], []

    def open_tls():
        opened.append(sockets[len(opened)])
        return opened[-1]

    device = app.Device({"client_id": "feeder-kitchen", "action_topic": "cat-feeder/kitchen/action",
                         "state_topic": "cat-feeder/kitchen/states", "feed_ms": 1000, "keepalive": 30},
                        open_tls, motors, clock, log=lambda *a: None)
    with FakePollers():
        device.connect()
        device.report({"state": "fed", "bowls": ["left"]})
        device.flush()
        assert b'"state": "fed"' in bytes(first.sent)
        device.disconnected()  # the connection drops before any PUBACK
        assert [s["state"] for s in device.unacked] == ["online", "fed"]
        device.connect()
        device.flush()
    resent = bytes(second.sent)
    assert resent.index(b'"state": "fed"') < resent.rindex(b'"state": "online"'), "the kept reports go first"


def test_backoff_grows_and_is_capped():
    assert [app.backoff(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


passed, failed = 0, 0
for name in sorted(dir()):
    if name.startswith("test_"):
        try:
            globals()[name]()
            passed += 1
        except Exception as exc:  # noqa: BLE001
            failed += 1
            print("FAIL", name, repr(exc))
            sys.print_exception(exc)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
