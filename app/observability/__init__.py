"""What operators watch: Prometheus metrics, structured logs with request ids,
and the per-webhook and per-connection log lines."""
