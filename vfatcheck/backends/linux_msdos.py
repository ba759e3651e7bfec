"""The Linux kernel's msdos driver, the real "8.3 names only" reader of the 2009 reports: the same
boots as `linux` (backends/linux.py), each image mounted `-t msdos -o ro,nocase`.

Its expectations are the manifest's 8.3 view (vfatcheck.views.short_view): every entry by its short
name, stored case (`nocase` keeps the driver from lower-casing names for display; an 8.3-only reader
knows nothing of the NT case bits). It opens each entry by the name it lists, and those opens are its
lookups. See docs/backends/linux.md for what it showed on each form.
"""

from __future__ import annotations

from vfatcheck.backends.linux import LinuxBackend

NAME = "linux-msdos"
BACKEND = LinuxBackend(NAME, "msdos", ("nocase",))
