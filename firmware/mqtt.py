# MQTT 3.1.1 client for MicroPython: just what a feeder needs (connect with a last will, subscribe,
# publish QoS 0/1, keep-alive that notices a dead link), over any stream socket (TLS in practice).
# No wait blocks the caller's loop: while waiting for the broker it calls `idle()` every slice, so
# the motors keep their schedule and the watchdog is fed whatever the network does.
import select
import struct

CONNECT = const(0x10)
CONNACK = const(0x20)
PUBLISH = const(0x30)
PUBACK = const(0x40)
SUBSCRIBE = const(0x82)
SUBACK = const(0x90)
PINGREQ = const(0xC0)
PINGRESP = const(0xD0)
DUP = const(0x08)
# QoS 1 messages kept until their PUBACK: enough for a burst of state reports, bounded in memory.
MAX_UNACKED = const(16)
SLICE_MS = const(50)  # the longest any wait goes without calling idle()
PACKET_MS = const(2000)  # a packet that started arriving must finish within this, or the link is dead
DRAIN = const(128)  # an oversized message is read away this many bytes at a time, never whole


class MQTTError(Exception):
    pass


def encode_length(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def encode_string(s):
    data = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(data)) + data


def packet(kind, body):
    return bytes([kind]) + encode_length(len(body)) + body


class MQTTClient:
    def __init__(self, client_id, sock, keepalive=60, poller=None, clock=None, idle=None, max_message=1024):
        self.client_id = client_id
        self.sock = sock
        self.keepalive = keepalive
        self.clock = clock  # ticks_ms/ticks_diff/sleep_ms: the keep-alive's and the waits' time
        self.idle = idle or (lambda: None)
        self.max_message = max_message  # a PUBLISH longer than this is refused unread
        self.pid = 0
        self.on_message = None
        self.on_refused = None  # (topic, length): an oversized message was read away and acknowledged
        # pid -> (topic, message) of each QoS 1 publish the broker has not acknowledged yet, oldest first.
        self.unacked = {}
        self.dropped = 0
        self.last_sent = self._now()
        self.ping_sent = None  # when the unanswered PINGREQ went out
        if poller is None:
            poller = select.poll()
            poller.register(sock, select.POLLIN)
        self.poller = poller

    def _now(self):
        return self.clock.ticks_ms() if self.clock else 0

    def _since(self, then):
        return self.clock.ticks_diff(self.clock.ticks_ms(), then) if self.clock else 0

    def _next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def _wait_readable(self, limit_ms):
        """True once data is there; False after `limit_ms`. Calls idle() every slice."""
        waited = 0
        while True:
            if self.poller.poll(min(SLICE_MS, max(0, limit_ms - waited))):
                return True
            waited += SLICE_MS
            self.idle()
            if waited >= limit_ms:
                return False

    def _read(self, n):
        data = b""
        while len(data) < n:
            if not self._wait_readable(PACKET_MS):
                raise MQTTError("the broker went silent in the middle of a packet")
            chunk = self.sock.read(n - len(data))
            if not chunk:
                raise MQTTError("connection closed by the broker")
            data += chunk
        return data

    def _write(self, data):
        self.sock.write(data)
        self.last_sent = self._now()

    def _read_length(self):
        length, shift = 0, 0
        while True:
            byte = self._read(1)[0]
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return length
            shift += 7
            if shift > 21:
                raise MQTTError("malformed remaining length")

    def _read_packet(self):
        kind = self._read(1)[0]
        length = self._read_length()
        if kind & 0xF0 == PUBLISH and length > self.max_message:
            self._refuse(kind, length)
            return None, None
        if length > self.max_message + 64:
            raise MQTTError("a packet of %d bytes from the broker; at most %d are read" % (length, self.max_message))
        return kind, self._read(length) if length else b""

    def _refuse(self, kind, length):
        """Read an oversized PUBLISH away in small pieces, acknowledge it (so it is not redelivered to
        crash the device again) and say so; its body is never held in memory."""
        size = struct.unpack("!H", self._read(2))[0]
        left = length - 2
        topic, pid = b"", None
        if size <= 256:  # AWS IoT topics are at most 256 bytes: a longer one is only drained
            topic, left = self._read(size), left - size
            if (kind >> 1) & 0x03 and left >= 2:
                pid, left = struct.unpack("!H", self._read(2))[0], left - 2
        while left > 0:
            left -= len(self._read(min(DRAIN, left)))
        if pid is not None:
            self._write(packet(PUBACK, struct.pack("!H", pid)))
        if self.on_refused:
            self.on_refused(topic.decode() if topic else "?", length)

    def connect(self, clean=True, will=None):
        """`will`: (topic, message) the broker publishes (QoS 1) if this connection dies unannounced."""
        flags = 0x02 if clean else 0x00
        payload = encode_string(self.client_id)
        if will:
            flags |= 0x04 | (1 << 3)  # a will, at QoS 1
            payload += encode_string(will[0]) + encode_string(will[1])
        body = encode_string("MQTT") + bytes([4, flags]) + struct.pack("!H", self.keepalive)
        self._write(packet(CONNECT, body + payload))
        kind, body = self._next_packet()
        if kind != CONNACK or len(body) != 2:
            raise MQTTError("expected CONNACK, got packet type %d" % (kind >> 4))
        if body[1] != 0:
            raise MQTTError("broker refused the connection, return code %d" % body[1])

    def _next_packet(self):
        """The next packet, within the keep-alive; refused oversized messages are skipped."""
        while True:
            if not self._wait_readable(max(self.keepalive, 1) * 1000):
                raise MQTTError("the broker did not answer within the keep-alive")
            kind, body = self._read_packet()
            if kind is not None:
                return kind, body

    def subscribe(self, topic, qos=1):
        pid = self._next_pid()
        self._write(packet(SUBSCRIBE, struct.pack("!H", pid) + encode_string(topic) + bytes([qos])))
        while True:
            kind, body = self._next_packet()
            if kind == SUBACK and struct.unpack("!H", body[:2])[0] == pid:
                if body[2] == 0x80:
                    raise MQTTError("broker refused the subscription to " + topic)
                return body[2]
            self._dispatch(kind, body)

    def publish(self, topic, message, qos=0, pid=0, dup=False):
        """Send a message; a QoS 1 one is kept until its PUBACK (see `unacked`)."""
        head = PUBLISH | (qos << 1) | (DUP if dup else 0)
        body = encode_string(topic)
        if qos:
            pid = pid or self._next_pid()
            body += struct.pack("!H", pid)
            if pid not in self.unacked and len(self.unacked) >= MAX_UNACKED:
                del self.unacked[next(iter(self.unacked))]  # the oldest gives way; counted, not silent
                self.dropped += 1
            self.unacked[pid] = (topic, message)
        self._write(packet(head, body + message))
        return pid

    def resend(self):
        """Send again, flagged DUP, every QoS 1 message not yet acknowledged (after a reconnect
        to a persistent session, as MQTT 3.1.1 asks)."""
        for pid, (topic, message) in list(self.unacked.items()):
            self.publish(topic, message, qos=1, pid=pid, dup=True)

    def disconnect(self):
        """Leave cleanly: the broker drops the last will (only a lost connection sends it)."""
        self._write(bytes([0xE0, 0]))

    def ping(self):
        self._write(bytes([PINGREQ, 0]))
        if self.ping_sent is None:
            self.ping_sent = self._now()

    def keep_alive(self):
        """Ping once half the keep-alive has passed without sending; a PINGREQ unanswered for half a
        keep-alive means the link is dead. A dead link is noticed within 1.5 keep-alives."""
        half = self.keepalive * 500
        if self.ping_sent is not None and self._since(self.ping_sent) > half:
            raise MQTTError("no PINGRESP within %d ms: the link is dead" % half)
        if self._since(self.last_sent) >= half:
            self.ping()

    def _dispatch(self, kind, body):
        if kind & 0xF0 == PUBLISH:
            qos = (kind >> 1) & 0x03
            length = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + length].decode()
            rest = body[2 + length:]
            if qos:
                pid = struct.unpack("!H", rest[:2])[0]
                rest = rest[2:]
                self._write(packet(PUBACK, struct.pack("!H", pid)))
            if self.on_message:
                self.on_message(topic, rest)
        elif kind == PUBACK:
            self.unacked.pop(struct.unpack("!H", body[:2])[0], None)
        elif kind == PINGRESP:
            self.ping_sent = None
        else:
            raise MQTTError("unexpected packet type %d" % (kind >> 4))

    def check_msg(self, timeout_ms=0):
        """Handle every packet that arrives within timeout_ms; never blocks longer (but for a packet
        already arriving, which must finish within PACKET_MS)."""
        handled = 0
        while self.poller.poll(timeout_ms if not handled else 0):
            kind, body = self._read_packet()
            if kind is not None:
                self._dispatch(kind, body)
            handled += 1
        return handled
