"""The HTTP API (FastAPI): OpenAPI at /docs, problem+json errors, API-key auth."""
