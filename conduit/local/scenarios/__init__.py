"""Every system's scenario, in one list: the demo, the bench and the tests loop over it."""

from __future__ import annotations

from pathlib import Path

from conduit.local.deployment import LocalDeployment
from conduit.local.scenario import Scenario, Stage
from conduit.local.scenarios.cat_feeder import CatFeederScenario
from conduit.local.scenarios.currency_stream import CurrencyStreamScenario
from conduit.local.scenarios.exchange_events import ExchangeEventsScenario
from conduit.local.scenarios.message_ingest import MessageIngestScenario
from conduit.local.scenarios.upload_extraction import UploadExtractionScenario
from infra.systems import SYSTEMS, System

_REGISTERED: dict[System, Scenario] = {s.system: s for s in (
    MessageIngestScenario(), UploadExtractionScenario(), CurrencyStreamScenario(), ExchangeEventsScenario(),
    CatFeederScenario(),
)}

# In the order of infra/systems.py; a system without a scenario is a KeyError at import, not a silent gap.
SCENARIOS: tuple[Scenario, ...] = tuple(_REGISTERED[s] for s in SYSTEMS)


def deployed(deployment: LocalDeployment, project_dir: Path) -> list[tuple[Scenario, Stage]]:
    """Each scenario of a system the deployment's stack deploys, with its stage, in SCENARIOS' order."""
    stages = [(scenario, scenario.stage(deployment, project_dir)) for scenario in SCENARIOS]
    return [(scenario, stage) for scenario, stage in stages if stage is not None]
