# The feeding logic: which bowls a command feeds, a schedule timed by the device's own clock that
# never blocks the caller, and the commands already served, so a command delivered twice (MQTT QoS 1,
# a retried ledger event) turns no motor twice. Commands that arrive during a feed wait in a queue.
# A report names the command it serves by its id (and the click's reportedTime).
import json

BOWLS = {"SINGLE": ("left",), "DOUBLE": ("right",), "LONG": ("left", "right")}


class Served:
    """The ids of the last `keep` commands served, in a file that outlives reboots and reconnects."""

    def __init__(self, path=None, keep=64):
        self.path = path
        self.keep = keep
        self.ids = []
        if path:
            try:
                with open(path) as f:
                    self.ids = [str(i) for i in json.load(f)][-keep:]
            except (OSError, ValueError):
                self.ids = []  # no file yet, or a torn write: nothing to remember

    def __contains__(self, command_id):
        return command_id in self.ids

    def add(self, command_id):
        """Remember `command_id` (written before any motor turns: a crash mid-feed feeds it no more)."""
        self.ids.append(command_id)
        del self.ids[:-self.keep]
        if self.path:
            with open(self.path, "w") as f:
                json.dump(self.ids, f)


class Feeder:
    def __init__(self, motors, feed_ms, max_queue=16, served=None):
        self.motors = motors  # {"left": Motor, "right": Motor}
        self.feed_ms = feed_ms
        self.max_queue = max_queue
        self.served = served if served is not None else Served()
        self.queue = []
        self.current = None
        self.until = 0

    def command(self, event, reported_time=None, command_id=None):
        """Queue a feed. Returns None; or for a repeat, a report (served before: confirmed again, not fed)
        or {} (still in hand: nothing to say yet); or an error message instead of raising."""
        if event not in BOWLS:
            return "unknown command %r; expected SINGLE, DOUBLE or LONG" % (event,)
        if command_id is not None and command_id in self.served:
            if self._pending(command_id):
                return {}  # still queued or feeding: acknowledged, and its own report will say fed
            report = {"state": "fed", "event": event, "bowls": list(BOWLS[event]), "repeat": True,
                      "id": command_id}
            if reported_time is not None:
                report["command"] = reported_time
            return report
        if len(self.queue) >= self.max_queue:
            return "queue full (%d commands); %s dropped" % (self.max_queue, event)
        if command_id is not None:
            self.served.add(command_id)
        self.queue.append((event, reported_time, command_id))
        return None

    def _pending(self, command_id):
        return any(c[2] == command_id for c in ([self.current] if self.current else []) + self.queue)

    def _report(self, state, command):
        event, reported_time, command_id = command
        report = {"state": state, "event": event, "bowls": list(BOWLS[event]), "queued": len(self.queue)}
        if reported_time is not None:
            report["command"] = reported_time
        if command_id is not None:
            report["id"] = command_id
        return report

    @property
    def busy(self):
        return self.current is not None

    def tick(self, clock):
        """Start or stop motors as time passes; returns a state report when something changed.
        Deadlines are `ticks_add`/`ticks_diff` arithmetic: right across the tick counter's wrap."""
        now = clock.ticks_ms()
        if self.current is not None and clock.ticks_diff(now, self.until) >= 0:
            for bowl in BOWLS[self.current[0]]:
                self.motors[bowl].off()
            done, self.current = self.current, None
            return self._report("fed", done)
        if self.current is None and self.queue:
            self.current = self.queue.pop(0)
            self.until = clock.ticks_add(now, self.feed_ms)
            for bowl in BOWLS[self.current[0]]:
                self.motors[bowl].on()
            return self._report("feeding", self.current)
        return None

    def stop(self):
        for motor in self.motors.values():
            motor.off()
        self.current = None
