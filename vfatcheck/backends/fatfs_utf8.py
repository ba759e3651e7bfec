"""ChaN FatFs built with long names and the UTF-8 API (FF_USE_LFN 1, FF_LFN_UNICODE 2): see fatfs_builds."""

from vfatcheck.backends.fatfs_builds import UTF8, FatfsBuildBackend

BACKEND = FatfsBuildBackend(UTF8)
