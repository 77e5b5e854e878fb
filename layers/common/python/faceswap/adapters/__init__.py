"""Adapters to AWS services and the outside world (DynamoDB, S3, EventBridge, Step Functions, HTTP)."""
