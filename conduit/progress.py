"""What a long step is doing, for a person at a terminal, so slow never looks like hung.

Lines go to stderr (stdout keeps the report and `--json`); on a terminal a running count rewrites
its own line. Off a terminal, or with `--quiet`, nothing is printed: a log or a pipe gets the
report alone.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self._lock = threading.Lock()
        self._counting = False  # a running count holds the current line

    def say(self, text: str) -> None:
        """One line of its own."""
        if self.enabled:
            with self._lock:
                self._write(("\n" if self._counting else "") + text + "\n")
                self._counting = False

    def count(self, what: str, done: int, total: int | None = None) -> None:
        """`what: done/total`, rewriting the same line on each call."""
        if self.enabled:
            with self._lock:
                self._write(f"\r\x1b[2K  {what}: {done}" + (f"/{total}" if total is not None else ""))
                self._counting = True

    def end_count(self) -> None:
        if self.enabled and self._counting:
            with self._lock:
                self._write("\n")
                self._counting = False

    @contextmanager
    def step(self, name: str, index: int | None = None, total: int | None = None) -> Iterator[None]:
        """`[i/n] name ...` as it starts and `[i/n] name: done in 1.2 s` (or `failed`) as it ends."""
        label = f"[{index}/{total}] {name}" if index is not None and total is not None else name
        self.say(f"{label} ...")
        started = time.monotonic()
        try:
            yield
        except BaseException:
            self.end_count()
            self.say(f"{label}: failed after {time.monotonic() - started:.1f} s")
            raise
        self.end_count()
        self.say(f"{label}: done in {time.monotonic() - started:.1f} s")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # a closed stderr never stops the work
            self.enabled = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:
        return False


QUIET = Progress(enabled=False)
