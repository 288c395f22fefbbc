"""A board stand-in for `conduit flash --port`: the host MicroPython's REPL behind a pseudo-terminal.

mpremote opens a pty exactly like a USB serial port. The REPL runs on one pty; a bridge thread
copies bytes between its master and a second pty's master, whose slave path is the "port" (pyserial
refuses a pty another process also holds open, hence the second pty). What mpremote copies lands in
the REPL's working directory: the board's filesystem.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

from conduit.flash import micropython


@contextlib.contextmanager
def board(filesystem: Path) -> Iterator[str]:
    """A serial port path that reaches a MicroPython REPL whose files live in `filesystem`."""
    repl_master, repl_slave = pty.openpty()
    tty.setraw(repl_slave)  # a board's UART translates nothing: no \r added before \n, no echo
    port_master, port_slave = pty.openpty()
    port = os.ttyname(port_slave)
    repl = subprocess.Popen([micropython(), "-i"], stdin=repl_slave, stdout=repl_slave, stderr=repl_slave,
                            cwd=filesystem, close_fds=True)
    os.close(repl_slave)
    stop = threading.Event()

    def bridge() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([repl_master, port_master], [], [], 0.1)
            for source in ready:
                try:
                    data = os.read(source, 4096)
                except OSError:
                    continue
                os.write(port_master if source == repl_master else repl_master, data)

    thread = threading.Thread(target=bridge, daemon=True)
    thread.start()
    try:
        # The port's slave stays open here only until mpremote opens it; closing it now is what
        # lets pyserial take the port without "multiple access".
        os.close(port_slave)
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)
        repl.kill()
        repl.wait(timeout=5)
        for fd in (repl_master, port_master):
            with contextlib.suppress(OSError):
                os.close(fd)
