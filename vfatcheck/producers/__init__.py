"""Other writers of the standard form, for cross-checks of the builder: the same items in, an image out.

Each module exposes `available()` and `produce(items, fat, seed) -> bytes`. They do I/O (a formatter,
a virtual machine); the builder stays pure.
"""
