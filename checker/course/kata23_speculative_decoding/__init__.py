"""Kata 23: Speculative decoding"""
