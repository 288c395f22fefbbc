"""The bucket's prefixes, which both the pipeline's wiring and its handlers use: each step is
triggered by its own prefix and writes only under the next, so the pipeline cannot loop.
Dependency-free, imported by both."""

UPLOADS, EXTRACTED, QUARANTINE = "uploads/", "extracted/", "quarantine/"
