"""Maintainer tools: building fixtures, verifying the course, scaffolding a kata."""
