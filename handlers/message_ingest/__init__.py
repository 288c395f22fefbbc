"""Message ingest: CSV files in S3 -> SQS -> DynamoDB, and an HTTP API over the stored messages."""
