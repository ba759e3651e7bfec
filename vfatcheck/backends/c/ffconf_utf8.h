/* fatfs-utf8: long file names on (a static buffer), the API in UTF-8, as a camera or player builds it. */
#define FF_USE_LFN 1
#define FF_LFN_UNICODE 2
#define FF_MAX_LFN 255
