"""Upload extraction: `uploads/` -> extractor -> `extracted/` -> indexer -> table, and `GET /search`.

Each function is triggered by its own prefix and can write only where the next step reads, so
the pipeline cannot trigger itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from handlers.upload_extraction.contract import EXTRACTED, QUARANTINE, UPLOADS
from infra.blocks.bucket_to_functions import BucketToFunctions, Trigger
from infra.blocks.defaults import SystemDefaults
from infra.blocks.function import Function, FunctionArgs
from infra.blocks.http_api import HttpApi, HttpApiArgs
from infra.blocks.iam import Statement
from infra.blocks.private_bucket import PrivateBucket, PrivateBucketArgs
from infra.blocks.system import SystemComponent
from infra.blocks.table import Table, TableArgs
from infra.stack_settings import UploadExtractionSettings
from infra.systems import UPLOAD_EXTRACTION


@dataclass(frozen=True)
class UploadExtractionArgs:
    settings: UploadExtractionSettings
    defaults: SystemDefaults


class UploadExtraction(SystemComponent):
    """System 3: uploaded text becomes searchable."""

    def __init__(self, name: str, args: UploadExtractionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(UPLOAD_EXTRACTION, name, args.defaults, opts)
        child, defaults = self.child, self.defaults
        self.bucket = PrivateBucket(f"{name}-files", PrivateBucketArgs(protect_data=defaults.data.protect_data),
                                    opts=child)
        self.index = Table(f"{name}-index", TableArgs(hash_key="pk", range_key="sk", protection=defaults.data),
                           opts=child)

        def objects(prefix: str) -> pulumi.Output[str]:
            return self.bucket.arn.apply(lambda arn: f"{arn}/{prefix}*")

        extractor = Function(f"{name}-extract", FunctionArgs(
            handler=UPLOAD_EXTRACTION.handler("extract"), defaults=self.functions,
            description="Extracts uploads/ to extracted/ as JSON; quarantines binary or oversized objects",
            timeout_seconds=60, memory_mb=512,
            environment={"MAX_UPLOAD_BYTES": str(args.settings.max_upload_bytes)},
            statements=[Statement(["s3:GetObject"], [objects(UPLOADS)]),
                        Statement(["s3:PutObject"], [objects(EXTRACTED), objects(QUARANTINE)])]), opts=child)
        indexer = Function(f"{name}-index", FunctionArgs(
            handler=UPLOAD_EXTRACTION.handler("index"), defaults=self.functions,
            description="Indexes extracted/ documents by term",
            timeout_seconds=60,
            environment={"TABLE_NAME": self.index.name},
            statements=[Statement(["s3:GetObject"], [objects(EXTRACTED)]),
                        # Postings are written and removed in batches: BatchWriteItem, not Put/DeleteItem.
                        Statement(["dynamodb:GetItem", "dynamodb:BatchWriteItem"], [self.index.arn])]), opts=child)

        # Each step is triggered by its own prefix and writes only under the next one: no loop.
        BucketToFunctions(f"{name}-steps", self.bucket, [
            Trigger(f"{name}-extract", extractor, prefix=UPLOADS),
            Trigger(f"{name}-index", indexer, prefix=EXTRACTED),
        ], opts=child)

        search = Function(f"{name}-search", FunctionArgs(
            handler=UPLOAD_EXTRACTION.handler("search"), defaults=self.functions,
            description="GET /search?q=: documents containing every term",
            invoked_asynchronously=False,
            environment={"TABLE_NAME": self.index.name},
            statements=[Statement(["dynamodb:Query", "dynamodb:BatchGetItem"], [self.index.arn])]), opts=child)
        self.api = HttpApi(f"{name}-api", HttpApiArgs(
            function_arn=search.arn, function_name=search.name, invoke_arn=search.invoke_arn,
            routes=["GET /search"], rate_limit=args.settings.api_rate_limit,
            burst_limit=args.settings.api_burst_limit, log_retention_days=defaults.log_retention_days), opts=child)
        self.outputs = {"bucket": self.bucket.name, "indexTable": self.index.name, "apiUrl": self.api.url}
        self.finish(self.outputs)
