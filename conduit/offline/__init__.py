"""The offline engine: a Pulumi program run with no cloud, on the SDK's mock monitor.

`engine` runs the program and records every registration; `cloud` answers it, from `shapes` (ids,
ARNs and outputs as AWS makes them, a row per type), `guesses` (a string for a property known only by
its name, a row per kind of name) and `plausible` (every other output, from the provider SDK's
types); `context` holds what one run learns; `hermetic` seals the run off from any cloud; every
private name of pulumi it needs is in `pulumi_seam`.
"""
