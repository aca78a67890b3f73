"""Kata 21: Mixture of experts. Everything the checker knows about it is in this folder."""
