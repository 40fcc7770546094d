"""The pure domain: money, credit accounts, holds, journal entries.

Nothing here imports a framework or storage library, and nothing reads the clock:
`now` is always an argument (a test in tests/unit asserts both).
"""
