"""The Python 3.11 speed fix for eager MAX (see the README's design notes).

Each eager MAX realization runs asyncio.run(); with Python's *default* SIGINT handler in place,
asyncio swaps in its own handler and Python 3.11 formats the running task's repr, which renders
Tensor arguments element by element through more eager ops: 20-60x slower. Any non-default
handler avoids it. Ours still turns Ctrl-C into KeyboardInterrupt, so nothing changes for people.
"""

from __future__ import annotations

import signal
import threading


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def install() -> bool:
    """Installs the handler (main thread only); returns whether it is now in place."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    return is_installed()


def is_installed() -> bool:
    return signal.getsignal(signal.SIGINT) is not signal.default_int_handler
