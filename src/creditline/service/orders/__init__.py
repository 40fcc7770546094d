"""The order lifecycle: order events applied exactly once, dead letters, reconciliation."""
