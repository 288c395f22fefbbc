"""CSV records as RFC 4180 writes them, from a file's physical lines, each with where it ends.

A quoted field may hold commas, doubled quotes and line breaks, so a record may span lines. A stray
quote must not swallow the rows after it: a record that spans lines is accepted only when it parses
as CSV and has the header's number of fields, and is never longer than MAX_RECORD_BYTES. Otherwise
its first line alone is the malformed record, and reading goes on with the next line.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

MAX_RECORD_BYTES = 8 * 1024  # a reading is a few hundred bytes; a quote left open is not, and each
# line after one is looked ahead from at most this far


@dataclass(frozen=True)
class Line:
    number: int
    end: int
    """The byte offset just after this line: where reading resumes after it."""
    raw: bytes


@dataclass(frozen=True)
class Record:
    first_line: int
    last_line: int
    end: int
    fields: list[str] | None
    problem: str | None = None


def lines_of(chunks: Iterable[bytes], first_number: int = 1, offset: int = 0) -> Iterator[Line]:
    """Physical lines (their line break kept) numbered from `first_number`, starting at byte `offset`."""
    number, end = first_number, offset
    for raw in chunks:
        end += len(raw)
        yield Line(number, end, raw)
        number += 1


def decode(raw: bytes) -> str:
    """Text, with any byte that is not UTF-8 kept as a surrogate: it spoils its own row only."""
    return raw.decode("utf-8", errors="surrogateescape")


def _parse(text: str) -> list[str] | str:
    """The one record `text` holds, or why it is not one."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        return f"not valid CSV: {exc}"
    rows = [r for r in rows if r]
    if len(rows) != 1:
        return ("not valid CSV: a quoted field is left open" if _quotes_open(text) else
                "not valid CSV: a line break outside quotes splits the row")
    return rows[0]


def _quotes_open(text: str) -> bool:
    """Whether a quoted field is still open at the end of `text` (an odd number of quotes so far)."""
    return text.count('"') % 2 == 1


def records(lines: Iterable[Line], header: list[str] | None = None,
            plausible: Callable[[list[str], list[str]], bool] | None = None) -> Iterator[Record]:
    """Records in file order, blank lines skipped; without a `header`, the first good record is it.
    A record that spans lines is one only when it has the header's number of fields and they are
    `plausible(fields, header)` (a reading a row could hold): a stray quote that happens to close lines
    later must not swallow the good rows between."""
    source = iter(lines)
    pushed: deque[Line] = deque()

    def take() -> Line | None:
        if pushed:
            return pushed.popleft()
        return next(source, None)

    while True:
        line = take()
        if line is None:
            return
        text = decode(line.raw)
        if not text.strip(" \t\r\n"):
            continue
        gathered, size = [line], len(line.raw)
        while _quotes_open(text) and size <= MAX_RECORD_BYTES:
            more = take()
            if more is None:
                break
            gathered.append(more)
            size += len(more.raw)
            text += decode(more.raw)
        parsed = _parse(text)
        spans = len(gathered) > 1
        if isinstance(parsed, list) and not (spans and header is not None and (
                len(parsed) != len(header) or (plausible is not None and not plausible(parsed, header)))):
            header = parsed if header is None else header
            yield Record(line.number, gathered[-1].number, gathered[-1].end, parsed)
            continue
        if spans:
            # Not one record after all: the first line alone is malformed; the rest are read again.
            pushed.extendleft(reversed(gathered[1:]))
            alone = _parse(decode(line.raw))
            reason = alone if isinstance(alone, str) else "a quoted field is left open"
            yield Record(line.number, line.number, line.end, None,
                         f"{reason} (the quote opened on line {line.number} is never closed; the lines after it "
                         "are read on their own)")
        else:
            yield Record(line.number, line.number, line.end, None, parsed if isinstance(parsed, str) else None)
