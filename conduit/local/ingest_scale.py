"""`python -m conduit.local.ingest_scale --rows 1000000`: the ingest function on one very large CSV.

The file is put in moto's S3 and read by the ingest function's own code, chunk after chunk, each
chunk what one invocation reads (`rowsPerInvocation`, 50,000 by default) before it hands the rest to
the next: rows per second of reading, the invocations a file takes, and the peak memory one chunk
holds (tracemalloc, the function's own allocations; SQS is answered by a stub that counts, so the
queue's messages are not held in this process). Every row must be sent once and every bad row
quarantined: the run fails otherwise. The end-to-end figure through the queue and the store on the
local cloud is `make bench`'s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from typing import Any

import boto3
from moto import mock_aws

from conduit.local.traffic import csv_file
from handlers.message_ingest import ingest

BUCKET, KEY = "bench-files", "big/readings.csv"


class CountingQueue:
    """SQS as the ingest function sees it, counting what it is sent."""

    def __init__(self) -> None:
        self.rows = self.calls = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.rows += len(Entries)
        self.calls += 1
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def run(rows: int, chunk_rows: int, bad_every: int) -> dict[str, Any]:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        lines = csv_file(rows, first_timestamp=1262304000).splitlines(keepends=True)
        bad = 0
        for n in range(bad_every, len(lines), bad_every):
            lines[n], bad = b"not,a,reading\n", bad + 1
        body = b"".join(lines)
        etag = s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)["ETag"].strip('"')
        del lines
        queue = CountingQueue()
        position: ingest.Position | None = ingest.Position(bucket=BUCKET, key=KEY, version="1", etag=etag)
        invocations, peak, rejected = 0, 0, 0
        started = time.perf_counter()
        while position is not None:
            tracemalloc.start()
            report = ingest.ingest(s3, queue, "queue", position, len(body) + 1, lambda: False, chunk_rows)
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            invocations += 1
            rejected += len(report.rejected)
            position = report.next
        seconds = time.perf_counter() - started
    if queue.rows + rejected != rows or rejected != bad:
        raise SystemExit(f"rows lost or doubled: {rows} rows, {queue.rows} sent, {rejected} quarantined "
                         f"({bad} were bad)")
    return {"rows": rows, "bytes": len(body), "seconds": round(seconds, 1), "rowsPerSecond": round(rows / seconds),
            "invocations": invocations, "sendCalls": queue.calls, "quarantined": rejected,
            "peakMemoryMiB": round(peak / 2**20, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conduit.local.ingest_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rows-per-invocation", type=int, default=ingest.CHUNK_ROWS)
    parser.add_argument("--bad-every", type=int, default=10_000, help="make every Nth line a bad row")
    args = parser.parse_args(argv)
    figures = run(args.rows, args.rows_per_invocation, args.bad_every)
    print(f"{figures['rows']:,} rows ({figures['bytes'] / 2**20:.0f} MiB) read in {figures['seconds']} s: "
          f"{figures['rowsPerSecond']:,} rows/s, {figures['invocations']} invocations of "
          f"{args.rows_per_invocation:,} rows, {figures['sendCalls']:,} SendMessageBatch calls, "
          f"{figures['quarantined']} rows quarantined; peak memory of one invocation "
          f"{figures['peakMemoryMiB']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
