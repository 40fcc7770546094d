"""Use cases: one handler per command, run inside a unit of work, plus read queries.

Entry points (HTTP, CLI, workers) build a command and hand it to `CommandBus`; the
handlers here apply domain rules and persist through the ports in `ports.py`.
"""
