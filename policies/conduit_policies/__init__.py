"""Conduit's policy pack: least-privilege IAM, dead-letter presence, device policies, advisories."""
