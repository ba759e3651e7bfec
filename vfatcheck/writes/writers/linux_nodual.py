"""`linux-nodual`: the `linux` writer booting the patched kernel of issue 11 (Linux 6.1 with the project's
own CONFIG_VFAT_FS_NO_DUALNAMES change, SPEC A.3), whose `Kernel` comes from vfatcheck.vm.kernels.

Its promise for the names it writes is a July 2009 dummy (`short_names = "dummy"`): the checker then
demands a dummy with NT byte 0x20 for every new long name and fresh dummy bytes on every rename
(SPEC A.3 "Renames"; vfatcheck.writes.check).
"""

from __future__ import annotations

import importlib
from typing import cast

from vfatcheck.cache import BuildFailed
from vfatcheck.vm import uml
from vfatcheck.writes.writers.linux import LinuxWriter

NAME = "linux-nodual"
SOURCE = "vfatcheck.vm.kernels"
ABSENT = (
    f"the patched kernel of issue 11 ({SOURCE}.nodual()) is not part of this vfatcheck yet; "
    "the stock kernel writes as `linux`"
)


def kernel() -> uml.Kernel:
    """The patched kernel, built at first use; BuildFailed says why there is none."""
    try:
        kernels = importlib.import_module(SOURCE)
    except ImportError as exc:
        raise BuildFailed(ABSENT) from exc
    return cast(uml.Kernel, kernels.nodual())


WRITER = LinuxWriter(
    NAME,
    kernel,
    short_names="dummy",
    note="# on a kernel built with CONFIG_VFAT_FS_NO_DUALNAMES=y (vfatcheck's linux-nodual kernel)",
)
