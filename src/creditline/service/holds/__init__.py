"""Holds: authorize, capture, release, refund, expiry, and what callers see of them."""
