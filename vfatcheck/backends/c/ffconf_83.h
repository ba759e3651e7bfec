/* fatfs-83: long file names off, the API in code page 437: a device that knows only 8.3 names. */
#define FF_USE_LFN 0
#define FF_LFN_UNICODE 0
#define FF_MAX_LFN 255
