"""Every system's scenario, in one list: the demo, the bench and the tests loop over it."""

from __future__ import annotations

from conduit.local.scenario import Scenario
from conduit.local.scenarios.cat_feeder import CatFeederScenario
from conduit.local.scenarios.currency_stream import CurrencyStreamScenario
from conduit.local.scenarios.exchange_events import ExchangeEventsScenario
from conduit.local.scenarios.message_ingest import MessageIngestScenario
from conduit.local.scenarios.upload_extraction import UploadExtractionScenario
from infra.systems import SYSTEMS

_REGISTERED: dict[str, Scenario] = {s.system_name: s for s in (
    MessageIngestScenario(), UploadExtractionScenario(), CurrencyStreamScenario(), ExchangeEventsScenario(),
    CatFeederScenario(),
)}

# In the order of infra/systems.py; a system without a scenario is a KeyError at import, not a silent gap.
SCENARIOS: tuple[Scenario, ...] = tuple(_REGISTERED[s.name] for s in SYSTEMS)
