# Reads device.json and the credential files a flash bundle holds.
import json


def load(path="device.json"):
    with open(path) as f:
        config = json.load(f)
    for key in ("client_id", "host", "port", "action_topic", "state_topic", "feed_ms", "pins"):
        if key not in config:
            raise ValueError("device.json lacks %s; re-create it with conduit flash" % key)
    return config


def read(path):
    with open(path, "rb") as f:
        return f.read()
