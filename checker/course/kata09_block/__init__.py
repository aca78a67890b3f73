"""Kata 9: Transformer block. Everything the checker knows about it is in this folder."""
