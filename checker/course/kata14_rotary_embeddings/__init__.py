"""Kata 14: Rotary position embeddings. Everything the checker knows about it is in this folder."""
