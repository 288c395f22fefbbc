"""The Conduit program: read the stack's settings, then wire the systems it turns on."""

import sys
from pathlib import Path

# Pulumi runs this file from infra/; make the project root importable as it is under `conduit`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi

from infra.blocks.alarm_topic import AlarmTopic
from infra.blocks.code import HandlerCode
from infra.blocks.defaults import DataProtection, SystemDefaults
from infra.cat_feeder import CatFeeder, CatFeederArgs
from infra.currency_stream import CurrencyStream, CurrencyStreamArgs
from infra.exchange_events import ExchangeEvents, ExchangeEventsArgs
from infra.message_ingest import MessageIngest, MessageIngestArgs
from infra.stack_settings import load_settings
from infra.systems import CAT_FEEDER, CURRENCY_STREAM, EXCHANGE_EVENTS, MESSAGE_INGEST, SYSTEMS, UPLOAD_EXTRACTION
from infra.upload_extraction import UploadExtraction, UploadExtractionArgs

settings = load_settings()
alarms = AlarmTopic("alarms", settings.alarm_email)
defaults = SystemDefaults(
    code=HandlerCode("handlers"),
    log_retention_days=settings.log_retention_days,
    max_receive_count=settings.dlq_max_receive_count,
    data=DataProtection(point_in_time_recovery=settings.point_in_time_recovery, protect_data=settings.protect_data),
    tracing=settings.tracing,
    alarm_topic_arn=alarms.arn,
)
pulumi.export("alarmTopicArn", alarms.arn)

# Each system of infra/systems.py: its component and args; its settings are `conduit:<key>`, its
# entry points the stack output `<key>`.
COMPONENTS = {
    MESSAGE_INGEST: (MessageIngest, MessageIngestArgs),
    UPLOAD_EXTRACTION: (UploadExtraction, UploadExtractionArgs),
    CURRENCY_STREAM: (CurrencyStream, CurrencyStreamArgs),
    EXCHANGE_EVENTS: (ExchangeEvents, ExchangeEventsArgs),
    CAT_FEEDER: (CatFeeder, CatFeederArgs),
}
for system in SYSTEMS:
    if settings.enabled(system.name):
        component, component_args = COMPONENTS[system]
        system_settings = settings.for_system(system)
        pulumi.export(system.key, component(system.name, component_args(settings=system_settings,
                                                                         defaults=defaults)).outputs)
