"""Ends a child process of `kata` (a check, `kata run`) when the `kata` process that started it dies.

A check's child runs in a session of its own, so that a time-out can kill it whole; but then
nothing stops it when `kata` itself is killed, its terminal closes or it runs out of memory, and
a learner's infinite loop would keep a core busy for ever. Two ways, since either alone can be
missed: Linux's parent-death signal (the kernel sends SIGTERM the moment the parent dies), and a
thread that looks every half second whether the parent is still there (macOS has no such
signal; and a learner's code could replace our SIGTERM handler).
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

from checker.protocol import Env, take

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_S = 0.5


def tie_to_parent() -> None:
    """Ties this process to the `kata` process that started it, when one did (Env.PARENT_PID)."""
    parent = take(Env.PARENT_PID)
    outright = take(Env.PARENT_DEATH) == "kill"
    if parent:
        tie_to(int(parent), outright)


def tie_to(parent: int, outright: bool = False) -> None:
    """From now on, this process (and its process group, if it leads one) ends with `parent`.
    Call it from the main thread, first thing. `outright`: the kernel kills it (SIGKILL) the
    moment the parent dies, for a process that may be stopped then (the background warm-up's
    checks, paused while the learner's own runs), which could not run a handler."""
    signal.signal(signal.SIGTERM, _end)
    _parent_death_signal(signal.SIGKILL if outright else signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was set up
        _end()
    threading.Thread(target=_watch, args=(parent,), name="kata-lifeline", daemon=True).start()


def _parent_death_signal(sig: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (AttributeError, OSError):  # not Linux: the watching thread does it alone
        pass


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    _end()


def _end(*_args) -> None:
    """Kills what this process started (when it leads its own process group), then itself."""
    try:
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
    finally:
        os._exit(128 + signal.SIGTERM)
