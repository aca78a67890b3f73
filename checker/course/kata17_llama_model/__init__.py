"""Kata 17: The Llama model. Everything the checker knows about it is in this folder."""
