"""Kata 11: Language-model head. Everything the checker knows about it is in this folder."""
