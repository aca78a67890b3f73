"""Kata 13: RMSNorm. Everything the checker knows about it is in this folder."""
