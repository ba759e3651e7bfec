"""Linux 6.1 with vfatcheck's patches for Tridgell's July 2009 behaviour (vfatcheck/vm/kernels.py) as
a reader: `linux-nodual` mounts each image `-t vfat -o ro,utf8,shortname=mixed` like `linux`, in
boots shared with `linux-nodual-msdos` (backends/linux_nodual_msdos.py).

What the patched reader changes (FAT_NO_83NAME, patch 0001): an entry whose NT byte has 0x20 set is
looked up by its long name only; 8.3-only listings (msdos, VFAT_IOCTL_READDIR_SHORT) leave it out;
the 8.3 uniqueness probe skips it. Windows sets 0x20 too, on EFS entries (NT byte 0x21, case c44):
those lose their 8.3 lookup. docs/backends/linux-nodual.md has what it showed on each form.
"""

from __future__ import annotations

from vfatcheck.backends.linux import LinuxBackend
from vfatcheck.vm import kernels

NAME = "linux-nodual"
BACKEND = LinuxBackend(NAME, "vfat", ("utf8", "shortname=mixed"), kernels.nodual)
