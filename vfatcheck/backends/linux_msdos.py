"""The Linux kernel's msdos driver, the real "8.3 names only" reader of the 2009 reports: the same
boots as `linux` (backends/linux.py), each image mounted `-t msdos -o ro,nocase`.

Capabilities.short_names_only: compare expects every entry under its 8.3 name. `nocase` keeps the driver
from lower-casing names for display, so it shows them as stored (it knows nothing of the NT case bits).
It opens each entry by the name it lists, and those opens are its lookups. docs/backends/linux.md
has what it showed on each form.
"""

from __future__ import annotations

from vfatcheck.backends.linux import LinuxBackend

NAME = "linux-msdos"
BACKEND = LinuxBackend(NAME, "msdos", ("nocase",))
