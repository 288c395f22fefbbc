"""The Conduit program: read the stack's settings, then wire the systems it turns on."""

import sys
from pathlib import Path

# Pulumi runs this file from infra/; make the project root importable as it is under `conduit`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi

from infra.blocks.alarm_topic import AlarmTopic
from infra.blocks.code import HandlerCode
from infra.blocks.defaults import SystemDefaults
from infra.cat_feeder import CatFeeder, CatFeederArgs
from infra.currency_stream import CurrencyStream, CurrencyStreamArgs
from infra.exchange_events import ExchangeEvents, ExchangeEventsArgs
from infra.message_ingest import MessageIngest, MessageIngestArgs
from infra.stack_settings import load_settings
from infra.systems import SYSTEMS
from infra.upload_extraction import UploadExtraction, UploadExtractionArgs

settings = load_settings()
alarms = AlarmTopic("alarms", settings.alarm_email)
defaults = SystemDefaults(
    code=HandlerCode("handlers"),
    log_retention_days=settings.log_retention_days,
    max_receive_count=settings.dlq_max_receive_count,
    point_in_time_recovery=settings.point_in_time_recovery,
    protect_data=settings.protect_data,
    tracing=settings.tracing,
    alarm_topic_arn=alarms.arn,
)
pulumi.export("alarmTopicArn", alarms.arn)

# Each system of infra/systems.py: its component and args; its settings are `conduit:<key>`, its
# entry points the stack output `<key>`.
COMPONENTS = {
    "message-ingest": (MessageIngest, MessageIngestArgs),
    "upload-extraction": (UploadExtraction, UploadExtractionArgs),
    "currency-stream": (CurrencyStream, CurrencyStreamArgs),
    "exchange-events": (ExchangeEvents, ExchangeEventsArgs),
    "cat-feeder": (CatFeeder, CatFeederArgs),
}
for system in SYSTEMS:
    if settings.enabled(system.name):
        component, component_args = COMPONENTS[system.name]
        system_settings = settings.for_system(system)
        pulumi.export(system.key, component(system.name, component_args(settings=system_settings,
                                                                         defaults=defaults)).outputs)
