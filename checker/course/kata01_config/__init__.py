"""Kata 1: Model configuration. Everything the checker knows about it is in this folder."""
