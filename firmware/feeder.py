# The feeding logic: which bowls a command feeds, and a schedule that never blocks the caller.
# Commands that arrive during a feed wait in a queue; none is dropped.
BOWLS = {"SINGLE": ("left",), "DOUBLE": ("right",), "LONG": ("left", "right")}


class Feeder:
    def __init__(self, motors, feed_ms, max_queue=16):
        self.motors = motors  # {"left": Motor, "right": Motor}
        self.feed_ms = feed_ms
        self.max_queue = max_queue
        self.queue = []
        self.current = None
        self.until = 0

    def command(self, event):
        """Queue a feed; returns an error message instead of raising for a bad or excess command."""
        if event not in BOWLS:
            return "unknown command %r; expected SINGLE, DOUBLE or LONG" % (event,)
        if len(self.queue) >= self.max_queue:
            return "queue full (%d commands); %s dropped" % (self.max_queue, event)
        self.queue.append(event)
        return None

    def tick(self, now_ms, ticks_diff):
        """Start or stop motors as time passes; returns a state report when something changed."""
        if self.current is not None and ticks_diff(now_ms, self.until) >= 0:
            for bowl in BOWLS[self.current]:
                self.motors[bowl].off()
            done, self.current = self.current, None
            return {"state": "fed", "event": done, "bowls": list(BOWLS[done]), "queued": len(self.queue)}
        if self.current is None and self.queue:
            self.current = self.queue.pop(0)
            self.until = now_ms + self.feed_ms
            for bowl in BOWLS[self.current]:
                self.motors[bowl].on()
            return {"state": "feeding", "event": self.current, "bowls": list(BOWLS[self.current]),
                    "queued": len(self.queue)}
        return None

    def stop(self):
        for motor in self.motors.values():
            motor.off()
        self.current = None
