# The feeder's main loop: Wi-Fi with backoff, MQTT over TLS with the device certificate, commands
# in, state out, motors on a schedule, reconnect on any drop, and a watchdog fed every turn.
import json

from feeder import Feeder
from mqtt import MQTTClient, MQTTError

BACKOFF_MAX_S = const(60)


def backoff(attempt):
    return min(BACKOFF_MAX_S, 1 << min(attempt, 6))


def connect_wifi(wlan, ssid, password, clock, attempts=8):
    """Join the network, waiting 1, 2, 4 ... seconds between tries; False when it never joins."""
    if wlan is None:
        return True  # the host build has its network already
    wlan.active(True)
    for attempt in range(attempts):
        if not wlan.isconnected():
            wlan.connect(ssid, password)
        for _ in range(20):
            if wlan.isconnected():
                return True
            clock.sleep_ms(250)
        clock.sleep_ms(backoff(attempt) * 1000)
    return False


class Device:
    def __init__(self, config, open_tls, motors, clock, wlan=None, watchdog=None, log=print):
        self.config = config
        self.open_tls = open_tls  # () -> a connected TLS stream to the broker
        self.clock = clock
        self.wlan = wlan
        self.watchdog = watchdog
        self.log = log
        self.feeder = Feeder(motors, config["feed_ms"])
        self.client = None
        self.started = clock.ticks_ms()
        self.last_ping = self.started
        self.pending = []  # state reports not yet sent
        self.unacked = []  # state reports sent on a connection that dropped before their PUBACK

    def uptime_s(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self.started) // 1000

    def report(self, state):
        state["uptime_s"] = self.uptime_s()
        self.pending.append(state)

    def on_message(self, topic, payload):
        try:
            command = json.loads(payload)
            error = self.feeder.command(command.get("event"), command.get("reportedTime"))
        except (ValueError, AttributeError) as exc:
            error = "unreadable command: %s" % exc
        if error:
            self.report({"state": "error", "error": error})
        self.log("command", topic, payload)

    def connect(self):
        client = MQTTClient(self.config["client_id"], self.open_tls(), keepalive=self.config.get("keepalive", 60))
        client.on_message = self.on_message
        # A persistent session: commands published (QoS 1) while the feeder was away are delivered now.
        client.connect(clean=self.config.get("clean_session", False))
        client.subscribe(self.config["action_topic"], qos=1)
        self.client = client
        self.last_ping = self.clock.ticks_ms()
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
        if self.watchdog:
            self.watchdog.feed()
        self.client.check_msg(poll_ms)
        change = self.feeder.tick(self.clock.ticks_ms(), self.clock.ticks_diff)
        if change:
            self.report(change)
        self.flush()
        if self.clock.ticks_diff(self.clock.ticks_ms(), self.last_ping) > self.config.get("keepalive", 60) * 500:
            self.client.ping()
            self.last_ping = self.clock.ticks_ms()

    def run(self, until=None):
        """Serve forever (on the board) or until `until(device)` is true (on the host)."""
        attempt = 0
        while until is None or not until(self):
            try:
                if not connect_wifi(self.wlan, self.config.get("wifi_ssid"), self.config.get("wifi_password"),
                                    self.clock):
                    raise OSError("Wi-Fi did not connect")
                self.connect()
                attempt = 0
                while until is None or not until(self):
                    self.step()
            except (MQTTError, OSError) as exc:
                self.log("connection lost", repr(exc))
                self.disconnected()
                if self.watchdog:
                    self.watchdog.feed()
                self.clock.sleep_ms(backoff(attempt) * 1000)
                attempt += 1
        self.feeder.stop()
