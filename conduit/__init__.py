"""The `conduit` command: offline preview, packaging, and the local cloud."""
