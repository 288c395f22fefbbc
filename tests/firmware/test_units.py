# Runs under the host `micropython`: MQTT bytes on a fake socket, the feeding schedule, and the device
# loop on a simulated broker link that drops, refuses and black-holes, with a clock that wraps as
# MicroPython's ticks do. Prints "N passed, 0 failed" and exits non-zero on any failure.
import binascii
import json
import os
import struct
import sys

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "firmware")

import app  # noqa: E402
import credentials  # noqa: E402
import feeder  # noqa: E402
import hardware  # noqa: E402
import mqtt  # noqa: E402

PERIOD = 1 << 30  # MicroPython's ticks wrap at 2**30 on every port


class FakeClock:
    """ticks that wrap like MicroPython's; starts just before the wrap so every deadline crosses it."""

    def __init__(self, start=PERIOD - 3000):
        self.now = start
        self.slept = 0

    def ticks_ms(self):
        return self.now % PERIOD

    def ticks_add(self, ticks, delta):
        return (ticks + delta) % PERIOD

    def ticks_diff(self, a, b):
        return ((a - b + PERIOD // 2) % PERIOD) - PERIOD // 2

    def sleep_ms(self, ms):
        self.now += ms
        self.slept += ms

    def elapsed(self, since):
        return self.ticks_diff(self.ticks_ms(), since)


class FakeSocket:
    def __init__(self, incoming=b"", eof=False):
        self.incoming = bytearray(incoming)
        self.sent = bytearray()
        self.eof = eof  # the broker closed its end once `incoming` is read: readable, and empty

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
    """Readable when the socket has data; otherwise the wait passes on the clock, as poll() would."""

    def __init__(self, sock, clock=None):
        self.sock = sock
        self.clock = clock

    def poll(self, timeout_ms):
        if self.sock.incoming or getattr(self.sock, "eof", False):
            return [1]
        if self.clock is not None:
            self.clock.sleep_ms(max(timeout_ms, 1))
        return []


def client(incoming=b"", clock=None):
    sock = FakeSocket(incoming)
    return mqtt.MQTTClient("feeder-kitchen", sock, keepalive=30, poller=FakePoller(sock), clock=clock), sock


def publish_packet(topic, payload, pid=7):
    body = mqtt.encode_string(topic) + struct.pack("!H", pid) + payload
    return bytes([0x32]) + mqtt.encode_length(len(body)) + body


# --- the MQTT client, byte for byte ----------------------------------------------------------------

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


def test_connect_carries_a_last_will_at_qos_1():
    c, sock = client(b"\x20\x02\x00\x00")
    c.connect(clean=False, will=("cat-feeder/dev/t/states", b'{"state": "offline"}'))
    sent = bytes(sock.sent)
    assert sent[9] == 0x0C, "flags: will, will QoS 1, clean session off"
    assert sent.endswith(mqtt.encode_string("cat-feeder/dev/t/states") + mqtt.encode_string(b'{"state": "offline"}'))


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


def test_an_incoming_qos1_publish_is_delivered_and_acknowledged():
    c, sock = client()
    got = []
    c.on_message = lambda topic, payload: got.append((topic, payload))
    payload = b'{"event": "SINGLE", "reportedTime": 1}'
    sock.feed(publish_packet("cat-feeder/kitchen/action", payload))
    assert c.check_msg(0) == 1
    assert got == [("cat-feeder/kitchen/action", payload)]
    assert bytes(sock.sent) == b"\x40\x02\x00\x07"


def test_an_oversized_message_is_read_away_acknowledged_and_reported_never_delivered():
    c, sock = client()
    got, refused = [], []
    c.on_message = lambda topic, payload: got.append(payload)
    c.on_refused = lambda topic, length: refused.append((topic, length))
    big = publish_packet("cat-feeder/kitchen/action", b"x" * 5000, pid=9)
    sock.feed(big)
    sock.feed(publish_packet("cat-feeder/kitchen/action", b'{"event": "SINGLE"}', pid=10))
    c.check_msg(0)
    assert got == [b'{"event": "SINGLE"}'] and refused == [("cat-feeder/kitchen/action", len(big) - 3)]
    assert bytes(sock.sent) == b"\x40\x02\x00\x09\x40\x02\x00\x0a", "acknowledged: it will not come back"


def test_a_closed_connection_raises():
    c, sock = client(b"\x30")
    sock.eof = True
    try:
        c.check_msg(0)
    except mqtt.MQTTError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("no error")


def test_a_packet_that_stops_arriving_half_way_is_a_dead_link_not_a_hang():
    clock = FakeClock()
    c, sock = client(b"\x32\x7f\x00", clock)  # a PUBLISH of 127 bytes, of which 1 arrives
    c.poller = FakePoller(sock, clock)
    try:
        c.check_msg(0)
    except mqtt.MQTTError as exc:
        assert "silent in the middle of a packet" in str(exc)
    else:
        raise AssertionError("no error")
    assert clock.slept <= mqtt.PACKET_MS + mqtt.SLICE_MS


# --- the feeding schedule --------------------------------------------------------------------------

def pins(clock=None):
    changes = []

    def change(pin, level):
        changes.append((pin, level, clock.now if clock else 0))

    make = lambda n: hardware.RecordingPin(n, change)  # noqa: E731
    return hardware.motors(make, {"left": [2, 3], "right": [4, 5]}), changes


def running_ms(changes, pin=2):
    """How long `pin` was high, from its recorded changes."""
    total, since = 0, None
    for p, level, at in changes:
        if p == pin and level == 1:
            since = at
        elif p == pin and level == 0 and since is not None:
            total, since = total + at - since, None
    return total


def on_time(ran_ms, feed_ms=2000):
    """Within 10% of the feed time: the schedule is only as fine as the loop's turn."""
    return abs(ran_ms - feed_ms) <= feed_ms // 10


def test_commands_drive_the_right_bowls_for_the_feed_time_across_the_ticks_wrap():
    clock = FakeClock(start=PERIOD - 5000)
    motors, _ = pins()
    f = feeder.Feeder(motors, feed_ms=10000)
    for event, bowls in (("SINGLE", ["left"]), ("DOUBLE", ["right"]), ("LONG", ["left", "right"])):
        assert f.command(event) is None
        started = f.tick(clock)
        assert started["state"] == "feeding" and started["bowls"] == bowls
        assert [b for b in ("left", "right") if motors[b].running] == bowls
        clock.sleep_ms(9999)
        assert f.tick(clock) is None, "not a millisecond early, across the wrap"
        clock.sleep_ms(1)
        assert f.tick(clock)["state"] == "fed"
        assert not motors["left"].running and not motors["right"].running


def test_each_report_names_the_command_it_serves():
    clock = FakeClock()
    motors, _ = pins()
    f = feeder.Feeder(motors, feed_ms=100)
    f.command("SINGLE", 1111111, "ev-1")
    f.command("LONG")  # a command without a time or id (an old client) is still served, unnamed
    reports = []
    for step in (0, 100, 0, 100):
        clock.sleep_ms(step)
        reports.append(f.tick(clock))
    assert reports == [
        {"state": "feeding", "event": "SINGLE", "bowls": ["left"], "queued": 1, "command": 1111111, "id": "ev-1"},
        {"state": "fed", "event": "SINGLE", "bowls": ["left"], "queued": 1, "command": 1111111, "id": "ev-1"},
        {"state": "feeding", "event": "LONG", "bowls": ["left", "right"], "queued": 0},
        {"state": "fed", "event": "LONG", "bowls": ["left", "right"], "queued": 0}]


def test_a_command_served_before_is_acknowledged_and_turns_no_motor():
    clock = FakeClock()
    motors, changes = pins()
    f = feeder.Feeder(motors, feed_ms=100)
    assert f.command("SINGLE", 5, "ev-9") is None
    assert f.command("SINGLE", 5, "ev-9") == {}, "still queued: acknowledged, its own report says fed later"
    f.tick(clock)
    clock.sleep_ms(100)
    assert f.tick(clock)["state"] == "fed"
    repeat = f.command("SINGLE", 5, "ev-9")
    assert repeat == {"state": "fed", "event": "SINGLE", "bowls": ["left"], "repeat": True, "id": "ev-9",
                      "command": 5}
    assert f.queue == [] and len(changes) == 2, "fed once: the left motor on, then off"


def test_served_commands_survive_a_reboot_and_stay_bounded():
    path = "served-test.json"
    try:
        os.remove(path)
    except OSError:
        pass
    first = feeder.Feeder(pins()[0], feed_ms=100, served=feeder.Served(path, keep=4))
    for n in range(6):
        first.command("SINGLE", n, "ev-%d" % n)
    rebooted = feeder.Feeder(pins()[0], feed_ms=100, served=feeder.Served(path, keep=4))
    assert isinstance(rebooted.command("SINGLE", 5, "ev-5"), dict), "served before the reboot: not fed again"
    assert rebooted.command("SINGLE", 0, "ev-0") is None, "only the last few are kept: memory is bounded"
    with open(path, "w") as torn:
        torn.write('["ev-1", "ev')  # power lost during a write
    assert feeder.Served(path).ids == [], "a torn file forgets, it does not crash the boot"
    os.remove(path)


def test_commands_during_a_feed_are_queued_not_lost():
    clock = FakeClock()
    motors, _ = pins()
    f = feeder.Feeder(motors, feed_ms=100)
    f.command("SINGLE")
    f.tick(clock)
    f.command("DOUBLE")
    f.command("LONG")
    clock.sleep_ms(50)
    assert f.tick(clock) is None and len(f.queue) == 2
    served = []
    for _ in range(100):
        clock.sleep_ms(10)
        change = f.tick(clock)
        if change and change["state"] == "fed":
            served.append(change["event"])
    assert served == ["SINGLE", "DOUBLE", "LONG"], served


def test_bad_commands_are_reported_not_raised():
    f = feeder.Feeder(pins()[0], feed_ms=100, max_queue=1)
    assert "unknown command" in f.command("TRIPLE")
    assert f.command("SINGLE") is None
    assert "queue full" in f.command("LONG")


# --- the device on a bad link ----------------------------------------------------------------------

class Broker:
    """The broker's side of one connection: answers CONNECT, SUBSCRIBE, QoS 1 publishes and PINGREQ,
    until the link breaks: `closed` (the broker's FIN), `silent` (packets vanish both ways)."""

    def __init__(self, clock):
        self.clock = clock
        self.incoming = bytearray()
        self.buffer = bytearray()
        self.published = []
        self.closed = self.silent = False
        self.will = None

    def read(self, n):
        if self.closed:
            return b""
        chunk = bytes(self.incoming[:n])
        self.incoming = self.incoming[n:]
        return chunk

    def write(self, data):
        if self.closed:
            raise OSError("ECONNRESET")
        if self.silent:
            return len(data)
        self.buffer += data
        while len(self.buffer) >= 2:
            length, shift, at = 0, 0, 1
            while True:
                byte = self.buffer[at]
                length |= (byte & 0x7F) << shift
                at += 1
                if not byte & 0x80:
                    break
                shift += 7
            if len(self.buffer) < at + length:
                return len(data)
            kind, body = self.buffer[0], bytes(self.buffer[at:at + length])
            self.buffer = self.buffer[at + length:]
            self.answer(kind, body)
        return len(data)

    def answer(self, kind, body):
        if kind == 0x10:
            if body[7] & 0x04:
                self.will = body
            self.incoming += b"\x20\x02\x00\x00"
        elif kind == 0x82:
            self.incoming += b"\x90\x03" + body[:2] + b"\x01"
        elif kind & 0xF0 == 0x30:
            size = struct.unpack("!H", body[:2])[0]
            topic, rest = body[2:2 + size].decode(), body[2 + size:]
            if kind & 0x06:
                self.incoming += b"\x40\x02" + rest[:2]
                rest = rest[2:]
            self.published.append((topic, json.loads(rest)))
        elif kind == 0xC0:
            self.incoming += b"\xd0\x00"

    def command(self, event, command_id, pid=3):
        payload = json.dumps({"event": event, "reportedTime": 1, "id": command_id}).encode()
        self.incoming += publish_packet("cat-feeder/dev/t/action", payload, pid)

    def states(self):
        return [m["state"] for _, m in self.published]


class Link:
    """What open_tls() gets: a Broker per connection, or a refusal while the network is down."""

    def __init__(self, clock):
        self.clock = clock
        self.down_until = None
        self.brokers = []

    def open(self, *pair):
        if self.down_until is not None and self.clock.ticks_diff(self.down_until, self.clock.ticks_ms()) > 0:
            raise OSError("ECONNREFUSED: the network is down")
        broker = Broker(self.clock)
        self.brokers.append(broker)
        return broker


class Dog:
    """A watchdog that records the longest it went unfed (on the device's clock)."""

    def __init__(self, clock):
        self.clock = clock
        self.last = clock.ticks_ms()
        self.longest = 0

    def feed(self):
        gap = self.clock.ticks_diff(self.clock.ticks_ms(), self.last)
        self.longest = max(self.longest, gap)
        self.last = self.clock.ticks_ms()


class FakePollers:
    """While open, every MQTTClient the device makes polls its socket through a FakePoller on `clock`."""

    def __init__(self, clock):
        self.clock = clock

    def __enter__(self):
        self.original = original = mqtt.MQTTClient.__init__
        clock = self.clock

        def with_fake_poller(client, client_id, sock, keepalive=60, poller=None, clock=None, idle=None,
                             max_message=1024):
            original(client, client_id, sock, keepalive, FakePoller(sock, clock_), clock, idle, max_message)

        clock_ = clock
        mqtt.MQTTClient.__init__ = with_fake_poller
        return self

    def __exit__(self, *exc):
        mqtt.MQTTClient.__init__ = self.original
        return False


CONFIG = {"client_id": "conduit-dev-feeder-t", "action_topic": "cat-feeder/dev/t/action",
          "state_topic": "cat-feeder/dev/t/states", "feed_ms": 2000, "keepalive": 4, "served_file": None}


def device(clock, link, wlan=None, **config):
    motors, changes = pins(clock)
    dog = Dog(clock)
    d = app.Device(dict(CONFIG, **config), link.open, motors, clock, wlan=wlan, watchdog=dog, log=lambda *a: None,
                   rand=lambda n: n // 2)
    return d, changes, dog


def scenario(d, clock, end_ms, *actions):
    """Run the device for `end_ms`, doing each `(at_ms, action)` as the loop reaches its time."""
    start, pending = clock.ticks_ms(), sorted(actions, key=lambda a: a[0])

    def until(_):
        elapsed = clock.elapsed(start)
        while pending and pending[0][0] <= elapsed:
            pending.pop(0)[1]()
        return elapsed >= end_ms

    d.run(until=until)


def test_a_feed_stops_on_time_when_the_link_drops_mid_feed_and_stays_down():
    clock = FakeClock()
    link = Link(clock)
    d, changes, dog = device(clock, link)

    def lose_the_link():  # 1 s into the feed, for 8 s
        link.brokers[-1].closed = True
        link.down_until = clock.ticks_add(clock.ticks_ms(), 8000)

    with FakePollers(clock):
        scenario(d, clock, 14000, (500, lambda: link.brokers[-1].command("SINGLE", "ev-1")), (1600, lose_the_link))
    ran = running_ms(changes)
    assert on_time(ran), "the motor ran %d ms for a 2000 ms feed" % ran
    assert dog.longest < 1000, dog.longest
    assert len(link.brokers) == 2 and "fed" in link.brokers[-1].states(), "fed is reported once the link is back"


def test_the_watchdog_is_fed_through_a_long_wifi_outage():
    clock = FakeClock()

    class NoWifi:
        def active(self, on):
            pass

        def connect(self, ssid, password):
            pass

        def isconnected(self):
            return False

    d, _, dog = device(clock, Link(clock), wlan=NoWifi())
    with FakePollers(clock):
        scenario(d, clock, 45000)
    assert clock.slept >= 45000 and dog.longest <= app.SLICE_MS, "unfed at most %d ms" % dog.longest


def test_a_black_holed_link_is_noticed_within_one_and_a_half_keepalives():
    clock = FakeClock()
    link = Link(clock)
    d, _, _ = device(clock, link)
    lost = []

    def black_hole():
        link.brokers[-1].silent = True
        lost.append(clock.ticks_ms())

    def reconnected(_):
        return len(link.brokers) == 2 or (lost and clock.elapsed(lost[0]) > 60000)

    with FakePollers(clock):
        scenario(d, clock, 3000, (2000, black_hole))
        d.run(until=reconnected)
    noticed = clock.elapsed(lost[0])
    assert len(link.brokers) == 2, "a new connection was made"
    assert noticed <= 1.5 * CONFIG["keepalive"] * 1000 + 2 * app.BACKOFF_BASE_MS, "noticed after %d ms" % noticed


def test_a_refused_connection_backs_off_with_full_jitter_up_to_a_cap():
    draws = []

    def rand(n):
        draws.append(n)
        return n - 1

    waits = [app.backoff_ms(attempt, rand) for attempt in range(10)]
    assert draws == [1001, 2001, 4001, 8001, 16001, 32001, 60001, 60001, 60001, 60001], draws
    assert waits[-1] == 60000 and all(0 <= w <= 60000 for w in waits)
    fleet = set(app.backoff_ms(3) for _ in range(50))
    assert len(fleet) > 10, "a fleet reconnects spread out, not in step"


def test_a_command_delivered_twice_feeds_once():
    clock = FakeClock()
    link = Link(clock)
    d, changes, _ = device(clock, link)

    def twice():
        link.brokers[-1].command("LONG", "ev-7", pid=3)
        link.brokers[-1].command("LONG", "ev-7", pid=4)  # the broker's redelivery

    with FakePollers(clock):
        scenario(d, clock, 5000, (500, twice))
    left, right = running_ms(changes, 2), running_ms(changes, 4)
    assert on_time(left) and on_time(right), "each bowl turned once: %d and %d ms" % (left, right)
    fed = [m for _, m in link.brokers[-1].published if m["state"] == "fed"]
    assert [m.get("repeat", False) for m in fed] == [False] and fed[0]["id"] == "ev-7", "fed said once, when fed"
    states = link.brokers[-1].states()
    assert states.index("feeding") < states.index("fed")


def test_a_command_redelivered_after_it_was_fed_is_confirmed_again_without_feeding():
    clock = FakeClock()
    link = Link(clock)
    d, changes, _ = device(clock, link)
    with FakePollers(clock):
        scenario(d, clock, 8000, (500, lambda: link.brokers[-1].command("SINGLE", "ev-8", pid=3)),
                 (5000, lambda: link.brokers[-1].command("SINGLE", "ev-8", pid=9)))
    assert on_time(running_ms(changes)), "fed once"
    fed = [m for _, m in link.brokers[-1].published if m["state"] == "fed"]
    assert [m.get("repeat", False) for m in fed] == [False, True], fed


def test_the_device_reconnects_with_a_persistent_session_and_a_will():
    clock = FakeClock()
    link = Link(clock)
    link.down_until = clock.ticks_add(clock.ticks_ms(), 2500)
    d, _, _ = device(clock, link)
    with FakePollers(clock):
        scenario(d, clock, 20000)
    broker = link.brokers[-1]
    assert broker.will is not None and b"offline" in broker.will
    assert broker.states()[0] == "online"


def test_a_state_report_not_acknowledged_before_a_drop_is_sent_again_after_reconnecting():
    clock = FakeClock()
    first = FakeSocket(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")  # no PUBACK, then the broker is gone
    second = FakeSocket(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")
    sockets, opened = [first, second], []

    def open_tls(*pair):
        opened.append(sockets[len(opened)])
        return opened[-1]

    d = app.Device(dict(CONFIG, feed_ms=1000), open_tls, pins()[0], clock, log=lambda *a: None)
    with FakePollers(clock):
        d.connect()
        d.report({"state": "fed", "bowls": ["left"]})
        d.flush()
        assert b'"state": "fed"' in bytes(first.sent)
        d.disconnected()  # the connection drops before any PUBACK
        assert [s["state"] for s in d.unacked] == ["online", "fed"]
        d.connect()
        d.flush()
    resent = bytes(second.sent)
    assert resent.index(b'"state": "fed"') < resent.rindex(b'"state": "online"'), "the kept reports go first"


def test_an_oversized_command_is_reported_and_the_next_one_served():
    clock = FakeClock()
    link = Link(clock)
    d, changes, _ = device(clock, link, max_command=512)
    big = publish_packet("cat-feeder/dev/t/action", b"{" + b" " * 20000 + b"}", pid=5)

    def send():
        link.brokers[-1].incoming += big
        link.brokers[-1].command("SINGLE", "ev-2", pid=6)

    with FakePollers(clock):
        scenario(d, clock, 4000, (500, send))
    states = link.brokers[-1].states()
    assert "error" in states and "fed" in states and on_time(running_ms(changes)), states
    error = [m for _, m in link.brokers[-1].published if m["state"] == "error"][0]
    assert "refused a %d-byte message" % (len(big) - 4) in error["error"], error


class StreamedPublish:
    """A socket that delivers one huge PUBLISH made on the fly: the test itself never holds it."""

    def __init__(self, topic, size, pid):
        self.head = bytearray([0x32]) + mqtt.encode_length(2 + len(topic) + 2 + size) + mqtt.encode_string(topic) + \
            struct.pack("!H", pid)
        self.left = size
        self.sent = bytearray()
        self.incoming = True

    def read(self, n):
        if self.head:
            chunk, self.head = bytes(self.head[:n]), self.head[n:]
            return chunk
        n = min(n, self.left)
        self.left -= n
        self.incoming = self.left > 0
        return b"x" * n

    def write(self, data):
        self.sent += data
        return len(data)


def test_a_command_as_large_as_aws_allows_is_refused_without_holding_it():
    """128 KB is what AWS IoT Core lets through; the suite runs with a 256 KB heap."""
    sock = StreamedPublish("cat-feeder/dev/t/action", 127 * 1024, pid=11)
    c = mqtt.MQTTClient("t", sock, keepalive=30, poller=FakePoller(sock))
    refused = []
    c.on_refused = lambda topic, length: refused.append(length)
    c.check_msg(0)
    assert refused == [127 * 1024 + 2 + 23 + 2] and bytes(sock.sent) == b"\x40\x02\x00\x0b"



# --- rotation without a cable ---------------------------------------------------------------------

CERT_TOPIC = "cat-feeder/dev/t/certificate"


class InFolder:
    """A fresh working folder holding a flashed pair, as a board's filesystem would."""

    count = 0

    def __enter__(self):
        InFolder.count += 1
        self.back = os.getcwd()
        self.path = "/tmp/conduit-fw-%d-%d" % (os.getpid() if hasattr(os, "getpid") else 0, InFolder.count)
        try:
            os.mkdir(self.path)
        except OSError:
            pass
        os.chdir(self.path)
        for name in os.listdir():
            os.remove(name)
        for name, data in (("cert.der", b"old certificate"), ("key.der", b"old key")):
            with open(name, "wb") as f:
                f.write(data)
        return self

    def __exit__(self, *exc):
        os.chdir(self.back)
        return False


def delivery(cert, key, cert_id=None):
    return json.dumps({"certificateId": cert_id or "aws-id-of-" + cert.decode(),
                       "certificate": binascii.b2a_base64(cert).decode().strip(),
                       "privateKey": binascii.b2a_base64(key).decode().strip()}).encode()


class PairLink(Link):
    """A Link that notes the pair of each connection and refuses the pairs in `refused`."""

    def __init__(self, clock):
        super().__init__(clock)
        self.pairs, self.refused = [], []

    def open(self, *pair):
        self.pairs.append(pair)
        if pair and pair[0] in self.refused:
            raise OSError("TLS handshake refused: certificate unknown")
        return super().open()


def rotating_device(clock, link):
    motors, changes = pins(clock)
    d = app.Device(dict(CONFIG, certificate_topic=CERT_TOPIC), link.open, motors, clock, log=lambda *a: None,
                   rand=lambda n: n // 2, credentials=credentials.Credentials())
    return d, changes


def deliver(link, payload, pid=21):
    return lambda: link.brokers[-1].incoming.extend(publish_packet(CERT_TOPIC, payload, pid))


def test_a_delivery_is_staged_once_and_an_empty_known_or_broken_one_is_nothing_new():
    with InFolder():
        c = credentials.Credentials()
        assert c.stage(b"") is None, "a cleared delivery"
        assert c.stage(delivery(b"old certificate", b"old key", cert_id="x")) is None, "the certificate in use"
        for broken in (b"{oops", b'{"certificateId": "x", "certificate": "", "privateKey": ""}', b'{"a": 1}'):
            try:
                c.stage(broken)
                raise AssertionError("a broken delivery was staged: %s" % broken)
            except (ValueError, KeyError, TypeError):
                pass
        new_id = c.stage(delivery(b"new certificate", b"new key"))
        assert new_id == "aws-id-of-new certificate" and c.next_pair() == (b"new certificate", b"new key")
        assert c.current() == (b"old certificate", b"old key"), "nothing is replaced before the broker accepts it"


def test_a_delivered_certificate_is_tried_kept_and_the_old_pair_dropped_without_a_restart():
    clock = FakeClock()
    link = PairLink(clock)
    with InFolder(), FakePollers(clock):
        d, changes = rotating_device(clock, link)
        scenario(d, clock, 6000, (500, deliver(link, delivery(b"new certificate", b"new key"))),
                 (3000, lambda: link.brokers[-1].command("SINGLE", "ev-after")))
        assert link.pairs == [(b"old certificate", b"old key"), (b"new certificate", b"new key")], link.pairs
        assert credentials.Credentials().current() == (b"new certificate", b"new key"), "kept across a reboot"
        assert "cert.der" not in os.listdir() and "key.der" not in os.listdir(), "the old pair is gone"
        assert link.brokers[0].states() == ["online"] and link.brokers[1].states()[0] == "online"
        assert "fed" in link.brokers[1].states() and on_time(running_ms(changes)), "served on the new certificate"


def test_a_certificate_the_broker_refuses_is_forgotten_and_the_pair_in_use_kept():
    clock = FakeClock()
    link = PairLink(clock)
    link.refused.append(b"bad certificate")
    with InFolder(), FakePollers(clock):
        d, _ = rotating_device(clock, link)
        late = delivery(b"bad certificate", b"bad key")
        scenario(d, clock, 6000, (500, deliver(link, late)), (3000, deliver(link, late, pid=22)))
        assert [p[0] for p in link.pairs] == [b"old certificate", b"bad certificate", b"old certificate"], link.pairs
        assert credentials.Credentials().current() == (b"old certificate", b"old key")
        errors = [m["error"] for _, m in link.brokers[-1].published if m["state"] == "error"]
        assert len(errors) == 1 and "refused certificate" in errors[0], errors


def test_a_rotation_waits_for_the_running_feed_to_end():
    clock = FakeClock()
    link = PairLink(clock)
    with InFolder(), FakePollers(clock):
        d, changes = rotating_device(clock, link)
        scenario(d, clock, 6000, (500, lambda: link.brokers[-1].command("LONG", "ev-long")),
                 (900, deliver(link, delivery(b"new certificate", b"new key"))))
        assert len(link.pairs) == 2 and on_time(running_ms(changes)), running_ms(changes)
        assert "fed" in [m["state"] for b in link.brokers for _, m in b.published]

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
