"""Kata $number: $title. Everything the checker knows about it is in this folder."""
