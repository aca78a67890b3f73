"""Kata 6: Position embeddings. Everything the checker knows about it is in this folder."""
