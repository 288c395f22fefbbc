"""Shared building blocks that give every system the same secure, observable defaults."""
