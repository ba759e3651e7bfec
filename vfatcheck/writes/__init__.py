"""The write side: what other implementations do to a directory that holds no-dual-names entries.

`operations` describes the scenes and operations, `writers` holds one module per writer, `check`
compares the reference reader's view before and after, `pipeline` runs the write matrix.
"""
