"""Kata 8: Residual connections. Everything the checker knows about it is in this folder."""
