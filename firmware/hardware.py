# Motors behind an H-bridge: two input pins per channel. Pins are passed in, so tests use fakes.
class Motor:
    def __init__(self, name, in1, in2):
        self.name = name
        self.in1 = in1
        self.in2 = in2
        self.off()

    def on(self):
        self.in1.value(1)
        self.in2.value(0)

    def off(self):
        self.in1.value(0)
        self.in2.value(0)

    @property
    def running(self):
        return self.in1.value() == 1


class RecordingPin:
    """A pin for the host build: remembers its level and reports every change."""

    def __init__(self, number, log=None):
        self.number = number
        self.level = 0
        self.log = log

    def value(self, level=None):
        if level is None:
            return self.level
        if level != self.level and self.log is not None:
            self.log(self.number, level)
        self.level = level


def motors(make_pin, pins):
    """{"left": Motor, "right": Motor} from pin numbers {"left": [in1, in2], "right": [...]}."""
    return {bowl: Motor(bowl, make_pin(pins[bowl][0]), make_pin(pins[bowl][1])) for bowl in ("left", "right")}
