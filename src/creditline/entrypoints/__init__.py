"""Entry points: the HTTP API, the command line and background workers. Thin shells:
parse, build a command, call the service, map errors."""
