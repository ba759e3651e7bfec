"""Linux 6.1 built with CONFIG_VFAT_NO_CREATE_WITH_LONGNAMES (vfatcheck/vm/kernels.py, `shortonly`) as
a reader: its vfat driver is registered as filesystem type `lfat`, so each image is mounted `-t lfat
-o ro,utf8,shortname=mixed`. It reads long names as vfat does; FAT_NO_83NAME (patch 0001) is in this
kernel too, so flagged entries are found by their long name only.
"""

from __future__ import annotations

from vfatcheck.backends.linux import LinuxBackend
from vfatcheck.vm import kernels

NAME = "linux-shortonly"
BACKEND = LinuxBackend(NAME, "lfat", ("utf8", "shortname=mixed"), kernels.shortonly)
