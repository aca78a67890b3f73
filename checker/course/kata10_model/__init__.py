"""Kata 10: Stacking blocks. Everything the checker knows about it is in this folder."""
