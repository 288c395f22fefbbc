"""`python -m conduit.local.ingest_scale --rows 1000000`: the ingest function on one very large CSV.

The file is read by the ingest function's own code, chunk after chunk, each chunk what one
invocation reads (`rowsPerInvocation`, 50,000 by default) before it hands the rest to the next:
rows per second of reading, the invocations a file takes, and the peak memory one chunk holds
(tracemalloc, the function's own allocations). S3 and SQS are answered by stubs that serve ranged
reads from the file as a stream and count what is sent (an in-process S3 such as moto copies the
whole object on every ranged read, which would be counted as the function's). The deployed
function on the local cloud is `conduit local bench --big-file`'s. Every row must be sent once and every bad row
quarantined: the run fails otherwise. The end-to-end figure through the queue and the store on the
local cloud is `make bench`'s.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import tracemalloc
from typing import Any

import boto3
from botocore.response import StreamingBody

from conduit.local.traffic import csv_file
from handlers.message_ingest import ingest

BUCKET, KEY = "bench-files", "big/readings.csv"


class StreamOfView(io.RawIOBase):
    """The rest of the file from an offset, read as S3 streams it: only what is asked for is copied."""

    def __init__(self, view: memoryview) -> None:
        self.view, self.at = view, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), len(self.view) - self.at)
        buffer[:n] = self.view[self.at:self.at + n]
        self.at += n
        return n


class RangedObjects:
    """S3 as the ingest function sees it: GetObject of one object, whole or from a byte offset."""

    exceptions = boto3.client("s3", region_name="eu-west-1").exceptions

    def __init__(self, body: bytes, etag: str) -> None:
        self.view, self.etag, self.quarantined = memoryview(body), etag, 0

    def get_object(self, Bucket: str, Key: str, IfMatch: str | None = None, Range: str | None = None
                   ) -> dict[str, Any]:
        offset = int(Range.removeprefix("bytes=").rstrip("-")) if Range else 0
        if offset >= len(self.view):
            raise self.exceptions.ClientError({"Error": {"Code": "InvalidRange"}}, "GetObject")
        rest = self.view[offset:]
        return {"ContentLength": len(rest), "ETag": f'"{self.etag}"',
                "Body": StreamingBody(io.BufferedReader(StreamOfView(rest)), len(rest))}

    def put_object(self, **request: Any) -> dict[str, Any]:
        self.quarantined += 1
        return {"ETag": '"quarantine"'}


class CountingQueue:
    """SQS as the ingest function sees it, counting what it is sent."""

    def __init__(self) -> None:
        self.rows = self.calls = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.rows += len(Entries)
        self.calls += 1
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def run(rows: int, chunk_rows: int, bad_every: int) -> dict[str, Any]:
    lines = csv_file(rows, first_timestamp=1262304000).splitlines(keepends=True)
    bad = 0
    for n in range(bad_every, len(lines), bad_every):
        lines[n], bad = b"not,a,reading\n", bad + 1
    body = b"".join(lines)
    del lines
    s3, queue = RangedObjects(body, "etag-1"), CountingQueue()
    position: ingest.Position | None = ingest.Position(bucket=BUCKET, key=KEY, version="1", etag="etag-1")
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
