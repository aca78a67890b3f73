"""Kata 7: Multi-head attention. Everything the checker knows about it is in this folder."""
