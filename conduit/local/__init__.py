"""The local cloud: the same program deployed onto an embedded AWS emulator."""
