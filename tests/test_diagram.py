"""`conduit diagram`: the README's flowchart is the program's, every system and every DLQ on it."""

from __future__ import annotations

import re

from conduit.diagram import mermaid
from infra.systems import NAMES
from tests.conftest import REPO
from tests.program import declared, of_type


def test_the_readme_diagram_is_what_the_program_draws():
    readme = (REPO / "README.md").read_text()
    drawn = re.search(r"<!-- conduit diagram --stack dev -->\n```mermaid\n(.*?)\n```", readme, re.S)
    assert drawn, "the README has no diagram block"
    assert drawn.group(1) == mermaid(declared("dev")), "the README's diagram drifted: run conduit diagram --stack dev"


def test_every_system_and_every_dead_letter_queue_is_on_the_diagram():
    document = declared("dev")
    diagram = mermaid(document)
    for system in NAMES:
        assert f"subgraph {system.replace('-', '_')}[{system}]" in diagram, system
    dead_letters = [q for q in of_type(document, "aws:sqs/queue:Queue") if "conduit:blocks:DeadLetterQueue" in q.urn]
    assert dead_letters
    for queue in dead_letters:
        node = "q_" + re.sub(r"[^A-Za-z0-9_]", "_", queue.name)
        assert re.search(rf"-\.->\|[^|]+\| {node}$", diagram, re.M), f"{queue.name} has no failure edge into it"


def test_connections_are_drawn_from_the_declared_wiring():
    diagram = mermaid(declared("dev"))
    assert "q_message_ingest_readings -->|batches| fn_message_ingest_store" in diagram
    assert "s3_upload_extraction_files -->|object created| fn_upload_extraction_index" in diagram
    assert "mqtt_event_buy --> iot_exchange_events_buys" in diagram
    assert "sns_currency_stream_changes -->|sqs| q_currency_stream_view_updates" in diagram
    assert "rule_cat_feeder_clicks -.->|undelivered| q_cat_feeder_feed_undelivered" in diagram
    # One API, two functions: each route is drawn to the function its integration invokes.
    assert "api_cat_feeder_api -->|POST /click| fn_cat_feeder_click" in diagram
    assert "api_cat_feeder_api -->|GET /feeders, GET /feeders/{feeder}| fn_cat_feeder_feeders" in diagram
    assert "mqtt_cat_feeder_dev___states --> iot_cat_feeder_states" in diagram
