# The feeder's main loop: Wi-Fi, MQTT over TLS with the device certificate and a last will, commands
# in, state out, motors on the device's own clock, reconnects with jittered backoff.
#
# Safe on a bad link: every wait (Wi-Fi joining, backoff, a slow broker) is cut in slices that call
# `service()`, which feeds the watchdog and moves the motors' schedule on, so a feed stops on time and
# the watchdog is fed whatever the network does. No connection is attempted while a feed runs (opening
# TLS may block). The watchdog resets the board only if the loop itself wedges: a call blocking longer
# than its timeout, which no path of this code makes.
#
# Rotation without a cable: a certificate delivered on the certificate topic is checked and staged
# (credentials.py); between feeds the device leaves cleanly and connects with it, keeps it if the
# broker accepts it, and otherwise goes back to the pair it had and reports the refusal.
import json
import random

from credentials import MAX_DELIVERY
from feeder import Feeder, Served
from mqtt import MQTTClient, MQTTError

BACKOFF_BASE_MS = const(1000)
BACKOFF_CAP_MS = const(60000)
SLICE_MS = const(50)
OFFLINE = b'{"state": "offline"}'


def _random_below(n):
    return random.getrandbits(30) % n if n > 0 else 0  # getrandbits is in every port's random


def backoff_ms(attempt, rand=_random_below, cap_ms=BACKOFF_CAP_MS):
    """Full jitter: anywhere from 0 to min(cap, base * 2^attempt), so a fleet does not reconnect in step."""
    return rand(min(cap_ms, BACKOFF_BASE_MS << min(attempt, 16)) + 1)


class Rotate(Exception):
    """A delivered certificate waits to be tried: leave cleanly and connect with it."""


class Device:
    def __init__(self, config, open_tls, motors, clock, wlan=None, watchdog=None, log=print, rand=_random_below,
                 credentials=None):
        self.config = config
        self.open_tls = open_tls  # (certificate, key) -> a connected TLS stream to the broker
        self.credentials = credentials  # None: the pair open_tls holds itself, and no rotation
        self.clock = clock
        self.wlan = wlan
        self.watchdog = watchdog
        self.log = log
        self.rand = rand
        self.keepalive = config.get("keepalive", 30)
        self.feeder = Feeder(motors, config["feed_ms"], served=Served(config.get("served_file", "served.json")))
        self.client = None
        self.started = clock.ticks_ms()
        self.pending = []  # state reports not yet sent
        self.unacked = []  # state reports sent on a connection that dropped before their PUBACK

    def uptime_s(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self.started) // 1000

    def report(self, state):
        state["uptime_s"] = self.uptime_s()
        self.pending.append(state)

    def service(self):
        """What must happen however the network behaves: the watchdog fed, the motors on schedule."""
        if self.watchdog:
            self.watchdog.feed()
        change = self.feeder.tick(self.clock)
        if change:
            self.report(change)

    def wait(self, ms):
        """Sleep `ms`, servicing the device every slice."""
        deadline = self.clock.ticks_add(self.clock.ticks_ms(), ms)
        while self.clock.ticks_diff(deadline, self.clock.ticks_ms()) > 0:
            self.service()
            self.clock.sleep_ms(min(SLICE_MS, max(1, self.clock.ticks_diff(deadline, self.clock.ticks_ms()))))
        self.service()

    def connect_wifi(self, attempts=8):
        """Join the network, backing off between tries; False when it never joins."""
        wlan = self.wlan
        if wlan is None:
            return True  # the host build has its network already
        wlan.active(True)
        for attempt in range(attempts):
            if not wlan.isconnected():
                wlan.connect(self.config.get("wifi_ssid"), self.config.get("wifi_password"))
            for _ in range(20):
                if wlan.isconnected():
                    return True
                self.wait(250)
            self.wait(backoff_ms(attempt, self.rand))
        return False

    def on_message(self, topic, payload):
        if topic == self.config.get("certificate_topic"):
            self.on_certificate(payload)
            return
        if len(payload) > self.config.get("max_command", 1024):
            self.on_refused(topic, len(payload))
            return
        try:
            command = json.loads(payload)
            outcome = self.feeder.command(command.get("event"), command.get("reportedTime"), command.get("id"))
        except (ValueError, AttributeError) as exc:
            outcome = "unreadable command: %s" % exc
        if isinstance(outcome, dict):
            if outcome:
                self.report(outcome)  # a repeat served before: confirmed again, no motor turned
        elif outcome:
            self.report({"state": "error", "error": outcome})
        self.log("command", topic, payload)

    def on_certificate(self, payload):
        try:
            staged = self.credentials.stage(payload) if self.credentials else None
        except (ValueError, KeyError, TypeError, OSError) as exc:
            self.report({"state": "error", "error": "unusable certificate delivery: %s" % exc})
            return
        if staged:
            self.log("certificate delivered", staged)

    def on_refused(self, topic, length):
        self.report({"state": "error", "error": "refused a %d-byte message on %s; at most %d are read" % (
            length, topic, self.config.get("max_command", 1024))})

    def connect(self):
        """Connect with a delivered certificate if one waits (kept only if the broker accepts it),
        else with the pair in use."""
        credentials = self.credentials
        if credentials is None or credentials.candidate is None:
            self._connect(credentials.current() if credentials else ())
            return
        try:
            self._connect(credentials.next_pair())
        except (MQTTError, OSError) as exc:
            refused = credentials.refuse()
            self.log("certificate refused", refused, repr(exc))
            self._connect(credentials.current())
            self.report({"state": "error", "error": "the broker refused certificate %s: %s" % (refused[:16], exc)})
            return
        self.log("certificate in use", credentials.candidate[0])
        credentials.keep()

    def _connect(self, pair):
        limit = self.config.get("max_command", 1024)
        if self.config.get("certificate_topic"):
            limit = max(limit, MAX_DELIVERY)
        client = MQTTClient(self.config["client_id"], self.open_tls(*pair), keepalive=self.keepalive,
                            clock=self.clock, idle=self.service, max_message=limit)
        client.on_message = self.on_message
        client.on_refused = self.on_refused
        # A persistent session: commands published (QoS 1) while the feeder was away are delivered now.
        # The will tells the cloud the feeder is offline once the broker loses it unannounced.
        client.connect(clean=self.config.get("clean_session", False), will=(self.config["state_topic"], OFFLINE))
        self.client = client
        client.subscribe(self.config["action_topic"], qos=1)
        if self.config.get("certificate_topic"):
            client.subscribe(self.config["certificate_topic"], qos=1)  # a retained delivery arrives now
        # Reports the broker never acknowledged go out again, first, on the new connection.
        self.pending = self.unacked + self.pending
        self.unacked = []
        self.report({"state": "online"})

    def disconnected(self):
        """Keep what the lost connection never acknowledged."""
        if self.client is not None:
            self.unacked += [json.loads(message) for _, message in self.client.unacked.values()]
        self.client = None

    def flush(self):
        while self.pending:
            state = self.pending[0]
            self.client.publish(self.config["state_topic"], json.dumps(state).encode(), qos=1)
            self.log("state", state)
            self.pending.pop(0)

    def step(self, poll_ms=100):
        """One turn of the loop; raises MQTTError or OSError when the connection drops."""
        self.service()
        self.client.check_msg(poll_ms)
        self.service()
        self.flush()
        self.client.keep_alive()
        if self.credentials and self.credentials.candidate and not self.feeder.busy:
            raise Rotate()

    def run(self, until=None):
        """Serve forever (on the board) or until `until(device)` is true (on the host)."""
        attempt = 0
        while until is None or not until(self):
            if self.feeder.busy:
                self.wait(SLICE_MS)  # opening a connection may block: not while a motor runs
                continue
            try:
                if not self.connect_wifi():
                    raise OSError("Wi-Fi did not connect")
                self.connect()
                attempt = 0
                while until is None or not until(self):
                    self.step()
            except Rotate:
                self.log("rotating", self.credentials.candidate[0])
                try:
                    self.client.disconnect()  # leaving on purpose: no last will
                except OSError:
                    pass
                self.disconnected()
            except (MQTTError, OSError) as exc:
                self.log("connection lost", repr(exc))
                self.disconnected()
                self.wait(backoff_ms(attempt, self.rand))
                attempt += 1
        self.feeder.stop()
        if self.client is not None:
            try:
                self.client.disconnect()  # told to stop (the host build): not lost, so no "offline"
            except OSError:
                pass
