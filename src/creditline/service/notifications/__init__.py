"""Notifications: the outbox written with each change, and webhook delivery."""
