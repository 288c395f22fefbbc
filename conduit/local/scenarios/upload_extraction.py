"""Upload extraction on the local cloud: uploads become extracted JSON, an index, and search results."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conduit.local.scenario import (
    Account,
    BenchOptions,
    ClientUsage,
    Scenario,
    SoakOptions,
    Stage,
    UsageFlow,
    measure,
    say,
)
from conduit.local.traffic import call_api, wait_until
from infra.systems import UPLOAD_EXTRACTION


class UploadExtractionScenario(Scenario):
    system = UPLOAD_EXTRACTION

    def demo(self, stage: Stage) -> bool:
        print("\nUpload extraction: a text, a CSV and an image, then a search")
        emulator, outputs = stage.emulator, stage.outputs
        s3 = emulator.client("s3")
        uploads = {"report.txt": "Exchange rates in Zürich rose".encode(),
                   "rates.csv": b"symbol,rate\nCHF,0.91\nEUR,0.93\n", "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00"}
        started = time.perf_counter()
        for name, body in uploads.items():
            s3.put_object(Bucket=outputs["bucket"], Key=f"uploads/{name}", Body=body)
        url = outputs["apiUrl"] + "search?q=rates"

        def results() -> list | None:
            body = call_api(emulator, url).body
            return body["results"] if isinstance(body, dict) and body.get("count", 0) >= 1 else None

        found = wait_until(results, 30, "a searchable document")
        say(f"uploaded {len(uploads)} objects; GET /search?q=rates found {[r['key'] for r in found]}",
            time.perf_counter() - started)

        def keys() -> list[str]:
            return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=outputs["bucket"]).get("Contents", []))

        expected = {"extracted/report.txt.json", "extracted/rates.csv.json", "quarantine/photo.png.json"}
        wait_until(lambda: expected <= set(keys()), 30, "both texts extracted and the image quarantined")
        say("objects now: " + ", ".join(keys()))
        return True

    def bench(self, stage: Stage, options: BenchOptions) -> dict[str, Any]:
        """Upload -> extracted -> indexed: done when the term's posting is in the index table (read
        directly; polling GET /search would add a Lambda invocation to every poll)."""

        def flow(n: int) -> None:
            upload_and_index(stage, f"uploads/bench-{n}.txt", f"benchterm{n}x", interval=0.01)

        latency = measure("upload -> extracted -> indexed", options.events, flow, options.progress)
        return {"flows": {"upload": latency.figures()}}

    def soak(self, stage: Stage, options: SoakOptions) -> list[Account]:
        return [soak_uploads(stage, options)]

    def usage_flows(self) -> list[UsageFlow]:
        return [UsageFlow("upload", "upload", 20, usage_uploads)]


def upload_and_index(stage: Stage, key: str, term: str, interval: float) -> None:
    """Upload a two-term text, then wait until the index table (read directly) has the term's posting."""
    s3, dynamodb, outputs = stage.emulator.client("s3"), stage.emulator.client("dynamodb"), stage.outputs
    s3.put_object(Bucket=outputs["bucket"], Key=key, Body=f"report {term}".encode())
    wait_until(lambda: dynamodb.query(TableName=outputs["indexTable"], KeyConditionExpression="pk = :t",
                                      ExpressionAttributeValues={":t": {"S": f"term#{term}"}})["Count"],
               60, f"{key} indexed", interval=interval)


def usage_uploads(stage: Stage, uploads: int) -> ClientUsage:
    """Short text documents of two terms, each uploaded, extracted and indexed."""
    tag = time.time_ns() % 10**9
    for n in range(uploads):
        upload_and_index(stage, f"uploads/usage-{tag}-{n}.txt", f"usage{tag}x{n}", interval=0.02)
    return ClientUsage(Counter({"s3.putRequests": uploads}))


def soak_uploads(stage: Stage, options: SoakOptions) -> Account:
    """Texts, CSVs, binaries and odd names uploaded at once, plus a foreign document written straight
    under extracted/: every upload is extracted or quarantined, each text is searchable, nothing loops."""
    emulator, outputs = stage.emulator, stage.outputs
    s3, bucket = emulator.client("s3"), outputs["bucket"]
    uploads: dict[str, bytes] = {}
    for n in range(max(4, options.scale // 4)):
        kind = n % 4
        name = [f"soak/note-{n}.txt", f"soak/rates-{n}.csv", f"soak/photo-{n}.png", f"soak/odd name {n} é.txt"][kind]
        uploads[name] = [f"soak note soakterm{n}x".encode(), f"symbol,rate\nSOAK,soakterm{n}x\n".encode(),
                         b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(n % 7), f"soakterm{n}x in Zürich".encode()][kind]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=f"uploads/{item[0]}", Body=item[1]),
                      uploads.items()))
    s3.put_object(Bucket=bucket, Key="extracted/soak/foreign.json", Body=b'{"Content": 7, "ExtractedDate": "x"}')

    def landed(name: str) -> str | None:
        for prefix, where in (("extracted", "extracted"), ("quarantine", "quarantined")):
            try:
                s3.head_object(Bucket=bucket, Key=f"{prefix}/{name}.json")
                return where
            except s3.exceptions.ClientError:
                continue
        return None

    options.wait(stage, lambda: all(landed(name) for name in uploads), "every upload handled")
    outcomes = {"extracted": 0, "quarantined": 0}
    problems = []
    for n, name in enumerate(uploads):
        where = landed(name) or "nowhere"
        outcomes[where] = outcomes.get(where, 0) + 1
        if where == "extracted":
            term = f"soakterm{n}x"
            url = f"{outputs['apiUrl']}search?q={term}"
            found = options.wait(stage, lambda url=url: (call_api(emulator, url, timeout=options.patience).body
                                                         or {}).get("count"), f"{term} searchable")
            if found != 1:
                problems.append(f"{term} found {found} times")
    if call_api(emulator, f"{outputs['apiUrl']}search?q=soak", timeout=options.patience).status >= 500:
        problems.append("the foreign document broke search")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="extracted/").get("Contents", [])]
    if any(k.startswith("extracted/extracted/") for k in keys):
        problems.append("the pipeline extracted its own output (a loop)")
    return Account("upload extraction (odd uploads)", len(uploads), outcomes, problems)
