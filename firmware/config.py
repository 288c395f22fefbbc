# Reads device.json and the credential files a flash bundle holds.
import json

# The settings the firmware cannot start without; firmware/manifest.py declares the same (a test keeps them equal).
REQUIRED = ("client_id", "host", "port", "server_name", "action_topic", "state_topic", "feed_ms", "pins")


def load(path="device.json"):
    with open(path) as f:
        config = json.load(f)
    for key in REQUIRED:
        if key not in config:
            raise ValueError("device.json lacks %s; re-create it with conduit flash" % key)
    return config


def read(path):
    with open(path, "rb") as f:
        return f.read()
