"""Kata 5: Token embeddings. Everything the checker knows about it is in this folder."""
