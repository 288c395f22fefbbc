# MQTT 3.1.1 client for MicroPython: just what a feeder needs (connect, subscribe, publish QoS 0/1,
# ping), over any stream socket (TLS in practice). Reads never block longer than poll() allows.
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
    def __init__(self, client_id, sock, keepalive=60, poller=None):
        self.client_id = client_id
        self.sock = sock
        self.keepalive = keepalive
        self.pid = 0
        self.on_message = None
        # pid -> (topic, message) of each QoS 1 publish the broker has not acknowledged yet, oldest first.
        self.unacked = {}
        self.dropped = 0
        if poller is None:
            poller = select.poll()
            poller.register(sock, select.POLLIN)
        self.poller = poller

    def _next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.read(n - len(data))
            if not chunk:
                raise MQTTError("connection closed by the broker")
            data += chunk
        return data

    def _read_packet(self):
        kind = self._read(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._read(1)[0]
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        return kind, self._read(length) if length else b""

    def connect(self, clean=True):
        flags = 0x02 if clean else 0x00
        body = encode_string("MQTT") + bytes([4, flags]) + struct.pack("!H", self.keepalive)
        self.sock.write(packet(CONNECT, body + encode_string(self.client_id)))
        kind, body = self._read_packet()
        if kind != CONNACK or len(body) != 2:
            raise MQTTError("expected CONNACK, got packet type %d" % (kind >> 4))
        if body[1] != 0:
            raise MQTTError("broker refused the connection, return code %d" % body[1])

    def subscribe(self, topic, qos=1):
        pid = self._next_pid()
        self.sock.write(packet(SUBSCRIBE, struct.pack("!H", pid) + encode_string(topic) + bytes([qos])))
        while True:
            kind, body = self._read_packet()
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
        self.sock.write(packet(head, body + message))
        return pid

    def resend(self):
        """Send again, flagged DUP, every QoS 1 message not yet acknowledged (after a reconnect
        to a persistent session, as MQTT 3.1.1 asks)."""
        for pid, (topic, message) in list(self.unacked.items()):
            self.publish(topic, message, qos=1, pid=pid, dup=True)

    def ping(self):
        self.sock.write(bytes([PINGREQ, 0]))

    def _dispatch(self, kind, body):
        if kind & 0xF0 == PUBLISH:
            qos = (kind >> 1) & 0x03
            length = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + length].decode()
            rest = body[2 + length:]
            if qos:
                pid = struct.unpack("!H", rest[:2])[0]
                rest = rest[2:]
                self.sock.write(packet(PUBACK, struct.pack("!H", pid)))
            if self.on_message:
                self.on_message(topic, rest)
        elif kind == PUBACK:
            self.unacked.pop(struct.unpack("!H", body[:2])[0], None)
        elif kind == PINGRESP:
            pass
        else:
            raise MQTTError("unexpected packet type %d" % (kind >> 4))

    def check_msg(self, timeout_ms=0):
        """Handle every packet that arrives within timeout_ms; never blocks longer."""
        handled = 0
        while self.poller.poll(timeout_ms if not handled else 0):
            kind, body = self._read_packet()
            self._dispatch(kind, body)
            handled += 1
        return handled
