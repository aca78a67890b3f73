"""For table 4 only: with this folder on PYTHONPATH, every Python process (the checker's child
included) starts with checker.child.sigint.install() made a no-op, i.e. the SIGINT fix removed, so the
same check can be timed with and without it."""

from checker.child import sigint

sigint.install = sigint.is_installed
