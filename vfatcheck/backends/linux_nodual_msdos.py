"""The patched kernel's msdos driver (vfatcheck/vm/kernels.py, `nodual`): each image mounted `-t msdos
-o ro,nocase` in the boots of `linux-nodual`. With FAT_NO_83NAME it leaves out every entry whose NT
byte has 0x20 set, where the stock driver stops listing at the first dummy holding '/' (EIO).
"""

from __future__ import annotations

from vfatcheck.backends.linux import LinuxBackend
from vfatcheck.vm import kernels

NAME = "linux-nodual-msdos"
BACKEND = LinuxBackend(NAME, "msdos", ("nocase",), kernels.nodual)
