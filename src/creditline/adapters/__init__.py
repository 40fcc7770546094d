"""The outside world behind small interfaces: storage, clock, ids, key hashing."""
