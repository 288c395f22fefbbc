"""The Conduit program: read the stack's settings, then wire the systems it turns on."""

import sys
from pathlib import Path

# Pulumi runs this file from infra/; make the project root importable as it is under `conduit`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi

from infra.blocks.alarms import AlarmTopic
from infra.blocks.code import HandlerCode
from infra.cat_feeder import CatFeeder, CatFeederArgs
from infra.currency_stream import CurrencyStream, CurrencyStreamArgs
from infra.exchange_events import ExchangeEvents, ExchangeEventsArgs
from infra.message_ingest import MessageIngest, MessageIngestArgs
from infra.stack_settings import load_settings
from infra.upload_extraction import UploadExtraction, UploadExtractionArgs

settings = load_settings()
alarms = AlarmTopic("alarms", settings.alarm_email)
code = HandlerCode("handlers")
pulumi.export("alarmTopicArn", alarms.arn)

if settings.enabled("message-ingest"):
    ingest = MessageIngest("message-ingest", MessageIngestArgs(
        settings=settings.message_ingest,
        code=code.archive("message_ingest"),
        layers=[code.layer_arn],
        log_retention_days=settings.log_retention_days,
        max_receive_count=settings.dlq_max_receive_count,
        point_in_time_recovery=settings.point_in_time_recovery,
        protect_data=settings.protect_data,
        tracing=settings.tracing,
        alarm_topic_arn=alarms.arn,
    ))
    pulumi.export("messageIngest", ingest.outputs)

if settings.enabled("upload-extraction"):
    uploads = UploadExtraction("upload-extraction", UploadExtractionArgs(
        settings=settings.upload_extraction,
        code=code.archive("upload_extraction"),
        layers=[code.layer_arn],
        log_retention_days=settings.log_retention_days,
        point_in_time_recovery=settings.point_in_time_recovery,
        protect_data=settings.protect_data,
        tracing=settings.tracing,
        alarm_topic_arn=alarms.arn,
    ))
    pulumi.export("uploadExtraction", uploads.outputs)

if settings.enabled("currency-stream"):
    currency = CurrencyStream("currency-stream", CurrencyStreamArgs(
        settings=settings.currency_stream,
        code=code.archive("currency_stream"),
        layers=[code.layer_arn],
        log_retention_days=settings.log_retention_days,
        max_receive_count=settings.dlq_max_receive_count,
        point_in_time_recovery=settings.point_in_time_recovery,
        protect_data=settings.protect_data,
        tracing=settings.tracing,
        alarm_topic_arn=alarms.arn,
    ))
    pulumi.export("currencyStream", currency.outputs)

if settings.enabled("exchange-events"):
    exchange = ExchangeEvents("exchange-events", ExchangeEventsArgs(
        settings=settings.exchange_events,
        code=code.archive("exchange_events"),
        layers=[code.layer_arn],
        log_retention_days=settings.log_retention_days,
        point_in_time_recovery=settings.point_in_time_recovery,
        protect_data=settings.protect_data,
        tracing=settings.tracing,
        alarm_topic_arn=alarms.arn,
    ))
    pulumi.export("exchangeEvents", exchange.outputs)

if settings.enabled("cat-feeder") and settings.cat_feeder is not None:
    feeder = CatFeeder("cat-feeder", CatFeederArgs(
        settings=settings.cat_feeder,
        code=code.archive("cat_feeder"),
        layers=[code.layer_arn],
        log_retention_days=settings.log_retention_days,
        tracing=settings.tracing,
        alarm_topic_arn=alarms.arn,
    ))
    pulumi.export("catFeeder", feeder.outputs)
