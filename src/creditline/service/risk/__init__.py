"""Risk control in the service layer: the engine that decides payments, their features,
the decision log's JSON, the dry run and its ports."""
