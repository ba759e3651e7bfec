"""Name forms: how one long name becomes directory records. Pure: no I/O, randomness injected."""
