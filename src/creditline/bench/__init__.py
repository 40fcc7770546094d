"""`creditline bench`: throughput and latency of the engine beside a raw-SQL ceiling."""
