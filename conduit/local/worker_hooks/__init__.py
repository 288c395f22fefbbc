"""Modules the local cloud puts on its function workers' PYTHONPATH (conduit/local/faults.py)."""
