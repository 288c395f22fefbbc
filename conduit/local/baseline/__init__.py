"""Designs the bench measures Conduit against, deployed onto the emulator only by the bench."""
