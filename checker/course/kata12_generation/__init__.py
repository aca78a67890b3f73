"""Kata 12: Text generation. Everything the checker knows about it is in this folder."""
