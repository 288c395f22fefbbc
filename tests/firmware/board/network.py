# A stand-in for MicroPython's `network` on the host: Wi-Fi that joins on the first try.
import json

STA_IF = 0


class WLAN:
    def __init__(self, interface):
        self.interface = interface
        self.joined = False
        self.enabled = False

    def active(self, on=None):
        if on is not None:
            self.enabled = on
        return self.enabled

    def connect(self, ssid, password):
        print(json.dumps(["wifi", ssid]))
        self.joined = self.enabled

    def isconnected(self):
        return self.joined
