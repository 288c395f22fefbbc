"""Conduit's Pulumi program: components, shared building blocks and tooling."""
