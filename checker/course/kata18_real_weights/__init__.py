"""Kata 18: Real weights. Everything the checker knows about it is in this folder."""
