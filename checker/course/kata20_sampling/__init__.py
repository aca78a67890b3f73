"""Kata 20: Choosing the next token. Everything the checker knows about it is in this folder."""
