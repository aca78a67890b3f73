"""Kata 22: Batched generation. Everything the checker knows about it is in this folder."""
