"""Ingest a CSV file dropped in S3: every valid row goes to the queue, every other row to quarantine.

Any file is read whole, whatever its size and the function's timeout. The file is read in chunks of
at most CHUNK_ROWS records; a chunk ends early when the invocation nears its time limit, and the rest
of the file is handed to a new invocation of this function (a continuation) at the byte where the
chunk stopped, always a record boundary. Memory is bounded by the chunk, not the file. Each row
carries its identity (file, upload, line), so a chunk read twice (a retry, a duplicated S3
notification, a duplicated continuation) sends rows the store has already kept: nothing twice.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model
from pydantic import BaseModel, ValidationError

from handlers.message_ingest.contract import QUARANTINE as QUARANTINE_PREFIX
from handlers.message_ingest.models import CSV_COLUMNS, Origin, QueuedReading, Reading
from handlers.message_ingest.records import Line, Record, lines_of, records
from handlers.shared.aws import client, setting
from handlers.shared.errors import describe, describe_errors
from handlers.shared.observability import entry_point, logger

SQS_BATCH_LIMIT = 10
SEND_ATTEMPTS = 3
SEND_CONCURRENCY = 8  # batches in flight at once: SendMessageBatch is network-bound, parsing is not
CHUNK_ROWS = 50_000  # the default of ROWS_PER_INVOCATION (conduit:messageIngest.rowsPerInvocation)
TIME_MARGIN_MS = 20_000  # a chunk stops this long before the timeout: its sends finish, its report is written
_senders = ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="send")  # one pool per container


class IngestError(RuntimeError):
    """Rows could not be handed to the queue; the invocation fails so Lambda retries the chunk."""


class Position(BaseModel):
    """Where a file's reading goes on: the object (as its S3 event named it), the byte and line of the
    next record, and the header read at the start. Crosses invocations as the continuation event."""

    bucket: str
    key: str
    version: str
    etag: str
    offset: int = 0
    line: int = 1
    header: list[str] | None = None


class Continuation(BaseModel):
    continuation: Position


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str
    row: dict[str, Any] | None = None


@dataclass
class IngestReport:
    bucket: str
    key: str
    first_line: int = 1
    sent: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    quarantine_key: str | None = None
    next: Position | None = None


def _undecodable(row: dict[str, Any]) -> str | None:
    """Why a row read with `surrogateescape` holds bytes that are not UTF-8, or None."""
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


def header_problem(fields: list[str]) -> str | None:
    if any(_undecodable({"": name}) for name in fields):
        return "header is not UTF-8 text"
    missing = [c for c in CSV_COLUMNS if c not in fields]
    if missing:
        return f"header lacks column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}"
    return None


def read_rows(found: Iterable[Record], header: list[str]) -> Iterator[tuple[Record, dict[str, Any] | None,
                                                                              str | None]]:
    """`(record, row, problem)` per data record; `row` is None when the record is unusable."""
    for record in found:
        if record.fields is None:
            yield record, None, record.problem or "unreadable row"
            continue
        fields = record.fields
        row: dict[str, Any] = dict(zip(header, fields, strict=False))
        if len(fields) > len(header):
            row["__extra__"] = fields[len(header):]
        undecodable = _undecodable(row)
        if undecodable:
            yield record, _escaped(row), undecodable
        elif "__extra__" in row:
            yield record, row, f"{len(row['__extra__'])} more field(s) than the header names"
        elif any(c not in row for c in CSV_COLUMNS):
            absent = [c for c in CSV_COLUMNS if c not in row]
            yield record, {c: row.get(c) for c in CSV_COLUMNS}, f"field(s) missing: {', '.join(absent)}"
        else:
            yield record, {c: row[c] for c in CSV_COLUMNS}, None


def validate(record: Record, row: dict[str, Any] | None, problem: str | None) -> Reading | Rejection:
    """A reading from a good row; a rejection naming every fault of a bad one (shape and values)."""
    if row is None:
        return Rejection(record.first_line, problem or "unreadable row", row)
    present = {c: row[c] for c in CSV_COLUMNS if row.get(c) is not None}
    try:
        reading = Reading.model_validate(present)
    except ValidationError as exc:
        faults = [problem] if problem else []
        value_errors = [e for e in exc.errors() if e["type"] != "missing"]
        if value_errors:
            faults.append(describe_errors(value_errors))
        return Rejection(record.first_line, "; ".join(faults) or describe(exc), row)
    return Rejection(record.first_line, problem, row) if problem else reading


def a_reading(fields: list[str], header: list[str]) -> bool:
    """Whether fields, under `header`, make a valid reading: what a record spanning lines must be."""
    row = dict(zip(header, fields, strict=False))
    try:
        Reading.model_validate({c: row[c] for c in CSV_COLUMNS if c in row})
    except ValidationError:
        return False
    return True


def validate_rows(lines: Iterable[str]) -> Iterator[tuple[int, Reading | Rejection]]:
    """Every data row of a whole file's text lines, validated: `(line, reading or rejection)`."""
    found = records(lines_of(line.encode("utf-8", "surrogateescape") for line in lines), plausible=a_reading)
    header, problem = read_header(found)
    if problem:
        yield 1, problem
        return
    for record, row, problem in read_rows(found, header or []):
        yield record.first_line, validate(record, row, problem)


def read_header(found: Iterator[Record]) -> tuple[list[str] | None, Rejection | None]:
    """The header (the first record), or the rejection of a file whose header is unusable."""
    first = next(found, None)
    if first is None:
        return None, None
    problem = first.problem if first.fields is None else header_problem(first.fields)
    if problem:
        return None, Rejection(first.first_line, problem.replace("not valid CSV", "header is not readable CSV text"))
    return first.fields, None


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
    fails and Lambda retries the chunk (the store makes a resent row a no-op).
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


def read_chunk(lines: Iterable[bytes], position: Position, sqs: Any, queue_url: str,
               out_of_time: Callable[[], bool], chunk_rows: int | None = None) -> IngestReport:
    """Read records from `position` until the file ends, `chunk_rows` rows are read or time runs
    short; send the valid rows, collect the rejected ones. `report.next` says where to go on."""
    report = IngestReport(position.bucket, position.key, first_line=position.line)
    sender = BatchSender(sqs, queue_url)
    batch: list[str] = []
    header = position.header
    numbered = lines_of(lines, position.line, position.offset)
    found = records(_without_bom(numbered) if position.offset == 0 else numbered, header, a_reading)
    rows = 0
    try:
        if header is None:
            header, problem = read_header(found)
            if problem is not None:
                report.rejected.append(problem)
            if header is None:
                return report
        for record, row, problem in read_rows(found, header):
            outcome = validate(record, row, problem)
            rows += 1
            if isinstance(outcome, Rejection):
                report.rejected.append(outcome)
            else:
                origin = Origin(bucket=position.bucket, key=position.key, line=record.first_line,
                                version=position.version)
                batch.append(QueuedReading(reading=outcome, origin=origin).model_dump_json())
                if len(batch) == SQS_BATCH_LIMIT:
                    sender.send(batch)
                    report.sent += len(batch)
                    batch = []
            if rows >= (chunk_rows or CHUNK_ROWS) or out_of_time():
                report.next = position.model_copy(update={"offset": record.end, "line": record.last_line + 1,
                                                          "header": header})
                break
        if batch:
            sender.send(batch)
            report.sent += len(batch)
    finally:
        sender.finish()  # a batch that fails raises here, and the report is never returned
    return report


def _without_bom(lines: Iterable[Line]) -> Iterator[Line]:
    """The file's lines, a UTF-8 byte order mark dropped from the first (its bytes still counted)."""
    source = iter(lines)
    first = next(source, None)
    if first is not None:
        yield Line(first.number, first.end, first.raw.removeprefix(b"\xef\xbb\xbf"))
        yield from source


def quarantine_key(report: IngestReport) -> str:
    """`quarantine/<key>.rejected.json` for a file's first chunk; later chunks add their first line."""
    part = "" if report.first_line == 1 else f".{report.first_line}"
    return f"{QUARANTINE_PREFIX}{report.key}.rejected{part}.json"


def quarantine(s3: Any, report: IngestReport) -> None:
    """Write the rejected rows, with line numbers and reasons, next to the file they came from."""
    if not report.rejected:
        return
    report.quarantine_key = quarantine_key(report)
    document = {
        "source": f"s3://{report.bucket}/{report.key}",
        "fromLine": report.first_line,
        "sent": report.sent,
        "rejected": [{"line": r.line, "reason": r.reason, "row": r.row} for r in report.rejected],
    }
    s3.put_object(Bucket=report.bucket, Key=report.quarantine_key, ContentType="application/json",
                  Body=json.dumps(document, indent=2, default=str).encode())


def ingest(s3: Any, sqs: Any, queue_url: str, position: Position, max_bytes: int,
           out_of_time: Callable[[], bool], chunk_rows: int = CHUNK_ROWS) -> IngestReport | None:
    """One chunk of one object from `position`; None when the object changed since its event (the new
    upload has an event of its own). A file too large is quarantined whole, unread."""
    request: dict[str, Any] = {"Bucket": position.bucket, "Key": position.key}
    if position.etag:
        request["IfMatch"] = f'"{position.etag}"'
    if position.offset:
        request["Range"] = f"bytes={position.offset}-"
    try:
        obj = s3.get_object(**request)
    except s3.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("PreconditionFailed", "412"):
            return None
        if code in ("InvalidRange", "416") and position.offset:
            # The previous chunk ended exactly at the end of the file: nothing is left to read.
            return IngestReport(position.bucket, position.key, first_line=position.line)
        raise
    size = int(obj["ContentLength"]) + position.offset
    if size > max_bytes:
        obj["Body"].close()
        report = IngestReport(position.bucket, position.key, rejected=[
            Rejection(0, f"file is {size} bytes; the limit is {max_bytes} (MAX_CSV_BYTES)")])
    else:
        report = read_chunk(obj["Body"].iter_lines(keepends=True), position, sqs, queue_url, out_of_time, chunk_rows)
    quarantine(s3, report)
    return report


def positions(event: dict[str, Any]) -> list[Position]:
    """Where to read: a continuation's position, or the start of each CSV an S3 notification names."""
    if "continuation" in event:
        return [Continuation.model_validate(event).continuation]
    found = []
    for record in S3Model.model_validate(event).Records:
        key = unquote_plus(record.s3.object.key)
        if key.startswith(QUARANTINE_PREFIX):
            continue
        found.append(Position(bucket=record.s3.bucket.name, key=key, version=record.s3.object.sequencer or "",
                              etag=record.s3.object.eTag or ""))
    return found


def continue_later(lam: Any, function_name: str, position: Position) -> None:
    """Hand the rest of the file to a new invocation of this function, asynchronously."""
    lam.invoke(FunctionName=function_name, InvocationType="Event",
               Payload=Continuation(continuation=position).model_dump_json().encode())


@entry_point()
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    queue_url, max_bytes = setting("QUEUE_URL"), int(setting("MAX_CSV_BYTES"))
    chunk_rows = int(setting("ROWS_PER_INVOCATION"))

    def out_of_time() -> bool:
        return context.get_remaining_time_in_millis() < TIME_MARGIN_MS

    results = []
    for position in positions(event):
        report = ingest(client("s3"), client("sqs"), queue_url, position, max_bytes, out_of_time, chunk_rows)
        if report is None:
            logger.info("object changed since its event; its new upload is read by its own", extra={
                "key": position.key})
            continue
        if report.next is not None:
            continue_later(client("lambda"), context.function_name, report.next)
        summary = {"key": position.key, "fromLine": report.first_line, "sent": report.sent,
                   "rejected": len(report.rejected), "quarantine": report.quarantine_key,
                   "continuesAtLine": report.next.line if report.next else None}
        logger.info("ingested", extra=summary)
        results.append(summary)
    return {"files": results}
