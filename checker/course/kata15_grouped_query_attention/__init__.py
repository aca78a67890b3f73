"""Kata 15: Grouped-query attention. Everything the checker knows about it is in this folder."""
