"""Kata 16: SwiGLU. Everything the checker knows about it is in this folder."""
