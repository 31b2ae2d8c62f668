"""Operator commands: check, send, reprocess, deliveries, and the delivery log's retention."""
