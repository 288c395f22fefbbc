"""Imported by every Python process of the local cloud while faults are on (conduit/local/faults.py
puts this folder on PYTHONPATH): in a function's worker, an invocation whose trace header carries
the crash mark dies right after its first successful write call, before it can answer."""

import os

WRITES = ("Put", "Update", "Delete", "Send", "Publish", "TransactWrite", "BatchWrite", "Invoke", "Create")
MARK = "Conduit=crash-after-write"

try:
    from botocore.client import BaseClient
except ImportError:  # a process without botocore makes no AWS call to crash after
    BaseClient = None

if BaseClient is not None and os.environ.get("CONDUIT_CRASH_AFTER_WRITE") == "1":
    _call = BaseClient._make_api_call

    def _make_api_call(self, operation_name, api_params):
        result = _call(self, operation_name, api_params)
        if operation_name.startswith(WRITES) and MARK in os.environ.get("_X_AMZN_TRACE_ID", ""):
            os._exit(137)  # killed after the write, as a timeout or the OOM killer would
        return result

    BaseClient._make_api_call = _make_api_call
