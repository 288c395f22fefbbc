"""Where message ingest writes what it refuses, which its wiring must let it write and nothing
more. Dependency-free, imported by the component and the handlers."""

CSV_SUFFIX = ".csv"
QUARANTINE = "quarantine/"
CONFLICTS = "quarantine/conflicts/"
