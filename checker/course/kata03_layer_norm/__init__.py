"""Kata 3: Layer normalization. Everything the checker knows about it is in this folder."""
