"""Upload extraction on the local cloud: uploads become extracted JSON, an index, and search results."""

from __future__ import annotations

import time

from conduit.local.scenario import BenchOptions, Scenario, Stage, latencies, percentiles, say
from conduit.local.traffic import call_api, wait_until


class UploadExtractionScenario(Scenario):
    system_name = "upload-extraction"

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

    def bench(self, stage: Stage, options: BenchOptions) -> None:
        emulator, outputs = stage.emulator, stage.outputs
        s3 = emulator.client("s3")

        def flow(n: int) -> None:
            term = f"benchterm{n}x"
            s3.put_object(Bucket=outputs["bucket"], Key=f"uploads/bench-{n}.txt", Body=f"report {term}".encode())
            wait_until(lambda: (call_api(emulator, f"{outputs['apiUrl']}search?q={term}").body or {}).get("count"),
                       60, f"document {n} searchable", interval=0.01)

        print(f"  upload -> extracted -> indexed -> found   {percentiles(latencies(options.events, flow))}")
