/* vfatcheck's FatFs configuration (R0.16, revision 80386): a read-only build with the defaults a device
 * keeps, and the three options that tell the builds apart taken from ffconf_variant.h (a copy of
 * ffconf_utf8.h or ffconf_83.h made by vfatcheck/backends/fatfs_builds.py). ff.h includes this file.
 */
#define FFCONF_DEF 80386 /* FatFs refuses to compile against another revision's ff.h */

#include "ffconf_variant.h" /* FF_USE_LFN, FF_LFN_UNICODE, FF_MAX_LFN */

#define FF_FS_READONLY 1 /* the image is never written */
#define FF_FS_MINIMIZE 0 /* f_stat, f_opendir, f_readdir */
#define FF_USE_FIND 0
#define FF_USE_MKFS 0
#define FF_USE_FASTSEEK 0
#define FF_USE_EXPAND 0
#define FF_USE_CHMOD 0
#define FF_USE_LABEL 0
#define FF_USE_FORWARD 0
#define FF_USE_STRFUNC 0
#define FF_PRINT_LLI 0
#define FF_PRINT_FLOAT 0
#define FF_STRF_ENCODE 0

#define FF_CODE_PAGE 437 /* U.S., the OEM code page of the 8.3 names */
#define FF_LFN_BUF 255   /* ffconf.h's defaults: fno.fname and fno.altname in the API encoding */
#define FF_SFN_BUF 12

#define FF_FS_RPATH 0
#define FF_PATH_DEPTH 10
#define FF_VOLUMES 1
#define FF_STR_VOLUME_ID 0
#define FF_VOLUME_STRS "RAM", "NAND", "CF", "SD", "SD2", "USB", "USB2", "USB3"
#define FF_MULTI_PARTITION 0

#define FF_MIN_SS 512 /* every image vfatcheck writes has 512-byte sectors, as SD cards do */
#define FF_MAX_SS 512
#define FF_LBA64 0
#define FF_MIN_GPT 0x10000000
#define FF_USE_TRIM 0

#define FF_FS_TINY 0
#define FF_FS_EXFAT 0
#define FF_FS_NORTC 1
#define FF_NORTC_MON 1
#define FF_NORTC_MDAY 1
#define FF_NORTC_YEAR 2025
#define FF_FS_CRTIME 0
#define FF_FS_NOFSINFO 0
#define FF_FS_LOCK 0
#define FF_FS_REENTRANT 0
#define FF_FS_TIMEOUT 1000
