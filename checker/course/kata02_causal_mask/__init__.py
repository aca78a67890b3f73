"""Kata 2: Causal mask. Everything the checker knows about it is in this folder."""
