"""Ingest a CSV file dropped in S3: every valid row goes to the queue, every other row to quarantine."""

from __future__ import annotations

import codecs
import csv
import json
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model
from pydantic import ValidationError

from handlers.message_ingest.contract import QUARANTINE as QUARANTINE_PREFIX
from handlers.message_ingest.models import CSV_COLUMNS, Origin, QueuedReading, Reading
from handlers.shared.aws import client, setting
from handlers.shared.errors import describe, describe_errors
from handlers.shared.observability import entry_point, logger

SQS_BATCH_LIMIT = 10
SEND_ATTEMPTS = 3
SEND_CONCURRENCY = 8  # batches in flight at once: SendMessageBatch is network-bound, parsing is not
_senders = ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="send")  # one pool per container


class IngestError(RuntimeError):
    """Rows could not be handed to the queue; the invocation fails so Lambda retries the file."""


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str
    row: dict[str, Any] | None = None


@dataclass
class IngestReport:
    bucket: str
    key: str
    sent: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    quarantine_key: str | None = None


def _undecodable(row: dict[str, Any]) -> str | None:
    """Why a row read with `surrogateescape` holds bytes that are not UTF-8, or None.

    Decoding the file that way keeps every row after a bad byte: the bad row alone is rejected.
    """
    for column, value in row.items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and any("\udc80" <= ch <= "\udcff" for ch in text):
                raw = text.encode("utf-8", "surrogateescape")
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    where = f"in column {column}" if column and column != "__extra__" else "in the row"
                    return f"not UTF-8 text {where}: byte 0x{raw[exc.start]:02x} at position {exc.start}"
    return None


def _escaped(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its undecodable bytes shown as `\\xe9`, fit for the quarantine report."""
    def show(value: Any) -> Any:
        if isinstance(value, list):
            return [show(v) for v in value]
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if isinstance(
            value, str) else value
    return {k: show(v) for k, v in row.items()}


def _fields(line: str) -> list[str]:
    """One physical line as CSV fields; a csv.Error when it is not valid CSV on its own."""
    return next(csv.reader([line], strict=True), [])


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield `(line, row, problem)` per data row; `row` is None when the row is unusable.

    A real CSV parser (quoted fields, CRLF, blank lines skipped; column order free, unknown columns
    ignored), applied to one physical line at a time: readings never span lines, and a stray quote
    in one row must not swallow the rows after it into one bad record.
    """
    header: list[str] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip(" \t\r\n"):  # blank: only spaces, tabs and the line break
            continue
        try:
            fields = _fields(line)
        except csv.Error as exc:
            if header is None:
                yield number, None, f"header is not readable CSV text: {exc}"
                return
            yield number, None, f"not valid CSV: {exc}"
            continue
        if header is None:
            header = fields
            if any(_undecodable({"": name}) for name in header):
                yield number, None, "header is not UTF-8 text"
                return
            missing = [c for c in CSV_COLUMNS if c not in header]
            if missing:
                yield number, None, f"header lacks column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}"
                return
            continue
        row: dict[str, Any] = dict(zip(header, fields, strict=False))
        if len(fields) > len(header):
            row["__extra__"] = fields[len(header):]
        undecodable = _undecodable(row)
        if undecodable:
            yield number, _escaped(row), undecodable
        elif "__extra__" in row:
            yield number, row, f"{len(row['__extra__'])} more field(s) than the header names"
        elif any(c not in row for c in CSV_COLUMNS):
            absent = [c for c in CSV_COLUMNS if c not in row]
            yield number, {c: row.get(c) for c in CSV_COLUMNS}, f"field(s) missing: {', '.join(absent)}"
        else:
            yield number, {c: row[c] for c in CSV_COLUMNS}, None


def validate_rows(lines: Iterable[str]) -> Iterator[tuple[int, Reading | Rejection]]:
    """A reading per good row; a rejection naming every fault of a bad one (shape and values)."""
    for line, row, problem in read_rows(lines):
        if row is None:
            yield line, Rejection(line, problem or "unreadable row", row)
            continue
        present = {c: row[c] for c in CSV_COLUMNS if row.get(c) is not None}
        try:
            reading = Reading.model_validate(present)
        except ValidationError as exc:
            faults = [problem] if problem else []
            value_errors = [e for e in exc.errors() if e["type"] != "missing"]
            if value_errors:
                faults.append(describe_errors(value_errors))
            yield line, Rejection(line, "; ".join(faults) or describe(exc), row)
            continue
        yield line, (Rejection(line, problem, row) if problem else reading)


def send_batch(sqs: Any, queue_url: str, bodies: list[str]) -> None:
    """Send up to 10 bodies, retrying the entries SQS refused; raise if some never get through."""
    pending = {str(i): body for i, body in enumerate(bodies)}
    for _ in range(SEND_ATTEMPTS):
        entries = [{"Id": i, "MessageBody": b} for i, b in pending.items()]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = {f["Id"]: f for f in response.get("Failed", [])}
        pending = {i: b for i, b in pending.items() if i in failed}
        if not pending:
            return
    reasons = {f.get("Code", "?") for f in failed.values()}
    raise IngestError(f"SQS refused {len(pending)} message(s) after {SEND_ATTEMPTS} attempts: {sorted(reasons)}")


class BatchSender:
    """Sends batches of 10 while the file is still being read, at most SEND_CONCURRENCY at a time.

    The parser waits when that many batches are in flight, so memory stays bounded by the window,
    not the file. `finish` waits for every batch and raises the first failure: the invocation then
    fails and Lambda retries the file (the store makes a resent row a no-op).
    """

    def __init__(self, sqs: Any, queue_url: str, window: int = SEND_CONCURRENCY):
        self._sqs, self._queue_url, self._window = sqs, queue_url, window
        self._in_flight: deque[Future[None]] = deque()

    def send(self, bodies: list[str]) -> None:
        if len(self._in_flight) >= self._window:
            self._in_flight.popleft().result()
        self._in_flight.append(_senders.submit(send_batch, self._sqs, self._queue_url, bodies))

    def finish(self) -> None:
        errors = []
        while self._in_flight:
            try:
                self._in_flight.popleft().result()
            except Exception as exc:  # every batch is awaited before the first failure is raised
                errors.append(exc)
        if errors:
            raise errors[0]


def csv_rows_to_queue(lines: Iterable[str], bucket: str, key: str, sqs: Any, queue_url: str) -> IngestReport:
    """Send every valid row to the queue in batches of 10, several batches at once, and collect
    every rejected row."""
    report = IngestReport(bucket, key)
    sender = BatchSender(sqs, queue_url)
    batch: list[str] = []
    try:
        for line, outcome in validate_rows(lines):
            if isinstance(outcome, Rejection):
                report.rejected.append(outcome)
                continue
            message = QueuedReading(reading=outcome, origin=Origin(bucket=bucket, key=key, line=line))
            batch.append(message.model_dump_json())
            if len(batch) == SQS_BATCH_LIMIT:
                sender.send(batch)
                report.sent += len(batch)
                batch = []
        if batch:
            sender.send(batch)
            report.sent += len(batch)
    finally:
        sender.finish()  # a batch that fails raises here, and the report is never returned
    return report


def quarantine(s3: Any, report: IngestReport) -> None:
    """Write the rejected rows, with line numbers and reasons, next to the file they came from."""
    if not report.rejected:
        return
    report.quarantine_key = f"{QUARANTINE_PREFIX}{report.key}.rejected.json"
    document = {
        "source": f"s3://{report.bucket}/{report.key}",
        "sent": report.sent,
        "rejected": [{"line": r.line, "reason": r.reason, "row": r.row} for r in report.rejected],
    }
    s3.put_object(
        Bucket=report.bucket,
        Key=report.quarantine_key,
        Body=json.dumps(document, indent=2, default=_printable).encode(),
        ContentType="application/json",
    )


def _printable(value: Any) -> str:
    return str(value)


def ingest_object(s3: Any, sqs: Any, queue_url: str, bucket: str, key: str, max_bytes: int) -> IngestReport:
    """Stream one object through the parser; a file too large is quarantined whole, unread."""
    obj = s3.get_object(Bucket=bucket, Key=key)
    if obj["ContentLength"] > max_bytes:
        obj["Body"].close()
        report = IngestReport(bucket, key, rejected=[
            Rejection(0, f"file is {obj['ContentLength']} bytes; the limit is {max_bytes} (MAX_CSV_BYTES)")
        ])
    else:
        # surrogateescape: a byte that is not UTF-8 spoils its own row only (see _undecodable).
        lines = codecs.iterdecode(obj["Body"].iter_lines(keepends=True), "utf-8-sig", errors="surrogateescape")
        report = csv_rows_to_queue(lines, bucket, key, sqs, queue_url)
    quarantine(s3, report)
    return report


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    notification = S3Model.model_validate(event)
    queue_url, max_bytes = setting("QUEUE_URL"), int(setting("MAX_CSV_BYTES"))
    results = []
    for record in notification.Records:
        bucket, key = record.s3.bucket.name, unquote_plus(record.s3.object.key)
        if key.startswith(QUARANTINE_PREFIX):
            continue
        report = ingest_object(client("s3"), client("sqs"), queue_url, bucket, key, max_bytes)
        summary = {"key": key, "sent": report.sent, "rejected": len(report.rejected),
                   "quarantine": report.quarantine_key}
        logger.info("ingested", extra=summary)
        results.append(summary)
    return {"files": results}
