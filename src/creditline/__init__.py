"""creditline: a consumer credit-line payment engine (credit accounts, two-phase holds,
a double-entry journal), with an HTTP API and a command line."""

__version__ = "0.1.0"

__all__ = ["__version__"]
