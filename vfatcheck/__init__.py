"""vfatcheck: a VFAT long-filename compatibility tester."""

__version__ = "0.1.0"
