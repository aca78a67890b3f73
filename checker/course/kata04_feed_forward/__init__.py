"""Kata 4: Feed-forward network (GELU). Everything the checker knows about it is in this folder."""
