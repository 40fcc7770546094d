"""Accounts: open, change status, set the risk profile, repay, and their balances."""
