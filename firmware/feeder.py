# The feeding logic: which bowls a command feeds, and a schedule that never blocks the caller.
# Commands that arrive during a feed wait in a queue; none is dropped. A report names the command
# it serves by the command's reportedTime, so the cloud can tell which click the device confirmed.
BOWLS = {"SINGLE": ("left",), "DOUBLE": ("right",), "LONG": ("left", "right")}


class Feeder:
    def __init__(self, motors, feed_ms, max_queue=16):
        self.motors = motors  # {"left": Motor, "right": Motor}
        self.feed_ms = feed_ms
        self.max_queue = max_queue
        self.queue = []
        self.current = None
        self.current_at = None
        self.until = 0

    def command(self, event, reported_time=None):
        """Queue a feed; returns an error message instead of raising for a bad or excess command."""
        if event not in BOWLS:
            return "unknown command %r; expected SINGLE, DOUBLE or LONG" % (event,)
        if len(self.queue) >= self.max_queue:
            return "queue full (%d commands); %s dropped" % (self.max_queue, event)
        self.queue.append((event, reported_time))
        return None

    def _report(self, state, event, command_at):
        report = {"state": state, "event": event, "bowls": list(BOWLS[event]), "queued": len(self.queue)}
        if command_at is not None:
            report["command"] = command_at
        return report

    def tick(self, now_ms, ticks_diff):
        """Start or stop motors as time passes; returns a state report when something changed."""
        if self.current is not None and ticks_diff(now_ms, self.until) >= 0:
            for bowl in BOWLS[self.current]:
                self.motors[bowl].off()
            done, self.current = self.current, None
            return self._report("fed", done, self.current_at)
        if self.current is None and self.queue:
            self.current, self.current_at = self.queue.pop(0)
            self.until = now_ms + self.feed_ms
            for bowl in BOWLS[self.current]:
                self.motors[bowl].on()
            return self._report("feeding", self.current, self.current_at)
        return None

    def stop(self):
        for motor in self.motors.values():
            motor.off()
        self.current = None
