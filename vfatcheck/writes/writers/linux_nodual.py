"""`linux-nodual`: the `linux` writer booting the patched kernel of issue 11 (Linux 6.1 with the project's
own CONFIG_VFAT_FS_NO_DUALNAMES change, SPEC A.3), vfatcheck.vm.kernels.nodual(), built at first use.

Its promise for the names it writes is a July 2009 dummy (`short_names = "dummy"`): the checker then
demands a dummy with NT byte 0x20 for every new long name and fresh dummy bytes on every rename
(SPEC A.3 "Renames"; vfatcheck.writes.check). A kernel that cannot be built here makes the writer
`unavailable` with the build's own reason (kernels.nodual raises cache.BuildFailed).
"""

from __future__ import annotations

from vfatcheck.vm import kernels
from vfatcheck.writes.writers.linux import LinuxWriter

NAME = "linux-nodual"

WRITER = LinuxWriter(
    NAME,
    kernels.nodual,
    short_names="dummy",
    note="# on a kernel built with CONFIG_VFAT_FS_NO_DUALNAMES=y (vfatcheck's linux-nodual kernel)",
)
