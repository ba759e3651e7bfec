"""ChaN FatFs built without long names (FF_USE_LFN 0), as a device that knows only 8.3: see fatfs_builds."""

from vfatcheck.backends.fatfs_builds import SHORT, FatfsBuildBackend

BACKEND = FatfsBuildBackend(SHORT)
