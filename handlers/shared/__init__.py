"""Helpers every system's handlers share."""
