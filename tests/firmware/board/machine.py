# A stand-in for MicroPython's `machine` on the host: pins that print every change, a watchdog.
import json


class Pin:
    OUT = 1
    IN = 0

    def __init__(self, number, mode=OUT):
        self.number = number
        self.level = 0

    def value(self, level=None):
        if level is None:
            return self.level
        if level != self.level:
            print(json.dumps(["pin", self.number, level]))
        self.level = level


class WDT:
    def __init__(self, timeout=0):
        self.timeout = timeout
        self.fed = 0

    def feed(self):
        self.fed += 1
