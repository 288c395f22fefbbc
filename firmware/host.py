# Runs the same firmware on the host `micropython` with recorded pins, for tests and the demo:
#   micropython host.py [commands-to-serve] [max-seconds]
# Prints one JSON line per pin change, command and published state.
import json
import sys
import time

import app
import broker
import config
import credentials
import hardware


def log(*parts):
    print(json.dumps(parts))


def main():
    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    settings = config.load()
    open_tls = broker.opener(settings["host"], settings["port"], settings["server_name"], config.read("ca.der"))
    motors = hardware.motors(lambda n: hardware.RecordingPin(n, lambda pin, level: log("pin", pin, level)),
                             settings["pins"])
    device = app.Device(settings, open_tls, motors, time, log=log, credentials=credentials.Credentials())
    started = time.ticks_ms()
    fed = [0]
    original = device.report

    def report(state):
        if state.get("state") == "fed" and not state.get("repeat"):
            fed[0] += 1
        original(state)

    device.report = report

    def done(d):
        over = time.ticks_diff(time.ticks_ms(), started) > seconds * 1000
        return over or (fed[0] >= wanted and not d.pending)

    device.run(until=done)
    log("served", fed[0])
    sys.exit(0 if fed[0] >= wanted else 1)


main()
