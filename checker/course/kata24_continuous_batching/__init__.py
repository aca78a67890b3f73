"""Kata 24: Continuous batching"""
