"""The child of `kata` ends with it (checker/child/lifeline.py), even where the parent-death signal
cannot do it: here the child's code ignores SIGTERM, so the watching thread must."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from conftest import REPO

CHILD = """
import os, signal, subprocess, sys
from checker.child import lifeline
lifeline.tie_to(int(sys.argv[1]))
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a learner's code that shrugs off SIGTERM
subprocess.Popen(['sleep', '600'])
print('ready', flush=True)
while True:
    pass
"""

PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, '-c', sys.argv[1], str(__import__('os').getpid())],
                         start_new_session=True, stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_child_and_what_it_started_end_with_the_parent():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE,
                              text=True, env=env)
    child = int(parent.stdout.readline())
    group = os.getpgid(child)
    try:
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (_alive(child) or _group_alive(group)):
            time.sleep(0.1)
        assert not _alive(child), "the child outlived its parent"
        assert not _group_alive(group), "what the child started outlived it"
    finally:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _alive(int(entry)):
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry)) == group:
                    return True
    return False
