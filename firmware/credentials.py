# The device's certificate and key: the pair it connects with, and a delivered next pair that is
# tried before it is kept. A rotation never needs a cable, and never locks the device out:
# - a delivery comes on a topic only the cloud may publish to, over the device's own mutual TLS; a
#   certificate is known by the SHA-256 of its DER, so the one in use or one already refused is not
#   tried again when the retained delivery is heard on every reconnect;
# - the next pair is written to files of its own, tried on the next connection, and kept only if
#   the broker accepts it; `identity.json` then names it, replaced in one rename, so a power cut
#   leaves either the old pair or the new one named, never half of each;
# - a pair the broker refuses is forgotten and the device connects with the pair it had.
# The delivery's fields are handlers/cat_feeder/contract.py's CERTIFICATE_FIELDS.
import binascii
import hashlib
import json
import os

MAX_DELIVERY = const(8192)  # contract.py's MAX_CERTIFICATE_DELIVERY: a delivery longer is refused unread
POINTER = "identity.json"
FLASHED = {"cert": "cert.der", "key": "key.der"}  # what conduit flash writes


def fingerprint(der):
    return binascii.hexlify(hashlib.sha256(der).digest()).decode()


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class Credentials:
    def __init__(self, pointer=POINTER):
        self.pointer = pointer
        try:
            with open(pointer) as f:
                self.files = json.load(f)
        except (OSError, ValueError):
            self.files = dict(FLASHED)
        self.candidate = None  # (id, {"cert": file, "key": file}, fingerprint) delivered, not yet tried
        self.refused = []  # fingerprints the broker refused: a retained delivery heard again is not retried

    def current(self):
        return _read(self.files["cert"]), _read(self.files["key"])

    def stage(self, payload):
        """Take a delivery: its certificate id when it is to be tried, None when there is nothing new.
        Raises ValueError (or KeyError, TypeError) for a malformed delivery."""
        if not payload:
            return None  # a cleared delivery (MQTT's empty retained message)
        delivery = json.loads(payload)
        certificate = binascii.a2b_base64(delivery["certificate"])
        key = binascii.a2b_base64(delivery["privateKey"])
        if not certificate or not key:
            raise ValueError("a delivery without a certificate or a key")
        known = fingerprint(certificate)
        staged = self.candidate is not None and self.candidate[2] == known
        if staged or known == fingerprint(_read(self.files["cert"])) or known in self.refused:
            return None
        new_id = str(delivery["certificateId"])
        files = {"cert": "cert-%s.der" % known[:16], "key": "key-%s.der" % known[:16]}
        _write(files["cert"], certificate)
        _write(files["key"], key)
        self.candidate = (new_id, files, known)
        return new_id

    def next_pair(self):
        files = self.candidate[1]
        return _read(files["cert"]), _read(files["key"])

    def keep(self):
        """The candidate connected: name it in one rename, then drop the old pair's files."""
        old, files = self.files, self.candidate[1]
        _write(self.pointer + ".tmp", json.dumps(files).encode())
        os.rename(self.pointer + ".tmp", self.pointer)
        self.files, self.candidate = files, None
        for name in old.values():
            if name not in files.values():
                _remove(name)

    def refuse(self):
        """The broker refused the candidate: forget it, keep the pair in use."""
        new_id, files, known = self.candidate
        self.refused.append(known)
        self.candidate = None
        for name in files.values():
            _remove(name)
        return new_id
