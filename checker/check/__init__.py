"""The parent's side of a check: it never imports MAX or checker.child (tests/test_layout.py)."""
