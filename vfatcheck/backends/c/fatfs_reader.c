/* vfatcheck's reader program around ChaN's FatFs: mounts an image file through a read-only disk layer,
 * walks every directory with f_opendir/f_readdir, hashes every file read with f_open/f_read, then looks
 * up the paths given on stdin with f_stat (and f_open/f_read for a file). Built at first use by
 * vfatcheck/backends/fatfs_builds.py from FatFs' own sources and one of our ffconf variants.
 *
 *   fatfs-reader IMAGE < PATHS     PATHS: one hex-encoded path a line, '/'-separated, no leading '/'
 *   fatfs-reader -V                the release, revision and configuration compiled in
 *
 * Output, one record a line. Names and paths are hex ("-" when empty) so that every byte survives;
 * `sha` is the SHA-256 of what f_read returned ("-" when f_open failed), `fr` a FRESULT number.
 *   M fr                                   f_mount failed; nothing else follows
 *   E id parent kind attr size fname alt   an entry (kind d or f; parent 0 is the root; alt is
 *                                          fno.altname, "-" in the 8.3 build)
 *   C sha fr                               the content of the file just listed
 *   O fr id                                f_opendir of directory `id` failed
 *   R fr id                                f_readdir failed in directory `id`: the rest is not listed
 *   P id                                   directory `id` not walked: it is its own ancestor (same cluster)
 *   T                                      MAX_ENTRIES listed: the walk stopped there
 *   L fr kind path sha fr                  a lookup: f_stat's result and kind, then f_open/f_read's
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ff.h" /* before diskio.h, which uses its types */
#include "diskio.h"
#include "sha256.h"

#ifndef READER_RELEASE
#define READER_RELEASE "unknown"
#endif
#define MAX_DEPTH 64
#define MAX_ENTRIES 50000
#define PATH_BYTES (MAX_DEPTH * (FF_LFN_BUF + 1) + 2) /* every name fits: fno.fname holds FF_LFN_BUF */

static int image = -1;
static LBA_t sectors;
static char path[PATH_BYTES];
static long listed;

/* ---- the disk layer: drive 0 is the image file, opened read-only ---- */

DSTATUS disk_status(BYTE pdrv) { return (pdrv == 0 && image >= 0) ? 0 : STA_NOINIT; }

DSTATUS disk_initialize(BYTE pdrv) { return disk_status(pdrv); }

DRESULT disk_read(BYTE pdrv, BYTE *buff, LBA_t sector, UINT count) {
    if (disk_status(pdrv)) return RES_NOTRDY;
    if (sector >= sectors || count > sectors - sector) return RES_PARERR; /* past the end of the medium */
    size_t want = (size_t)count * FF_MAX_SS;
    off_t at = (off_t)sector * FF_MAX_SS;
    while (want > 0) {
        ssize_t got = pread(image, buff, want, at);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return RES_ERROR;
        buff += got, want -= (size_t)got, at += got;
    }
    return RES_OK;
}

DRESULT disk_ioctl(BYTE pdrv, BYTE cmd, void *buff) {
    if (disk_status(pdrv)) return RES_NOTRDY;
    if (cmd == CTRL_SYNC) return RES_OK;
    if (cmd == GET_SECTOR_COUNT) {
        *(LBA_t *)buff = sectors;
        return RES_OK;
    }
    return RES_PARERR;
}

/* ---- output ---- */

static void hex(const void *data, size_t size) {
    const unsigned char *p = data;
    if (size == 0) fputc('-', stdout);
    for (size_t i = 0; i < size; i++) printf("%02x", p[i]);
}

static void hex_text(const TCHAR *text) { hex(text, strlen(text)); }

/* "sha fr": the SHA-256 of the bytes f_read gave, then the first result that was not FR_OK */
static void content(const TCHAR *where) {
    FIL fil;
    BYTE chunk[4096];
    UINT got = 0;
    struct sha256 sum;
    char digest[65];
    FRESULT fr = f_open(&fil, where, FA_READ);
    if (fr != FR_OK) {
        printf("- %d", (int)fr);
        return;
    }
    sha256_init(&sum);
    while ((fr = f_read(&fil, chunk, sizeof chunk, &got)) == FR_OK && got > 0) sha256_update(&sum, chunk, got);
    f_close(&fil);
    sha256_hex(&sum, digest);
    printf("%s %d", digest, (int)fr);
}

/* ---- the walk and the lookups ---- */

/* Lists directory `id`, whose path is in `path` ("" for the root, else "/DIR/SUB"); `clusters` holds the
 * first clusters of it and its ancestors, so that a directory pointing back up is not walked again. */
static void walk(long id, int depth, DWORD *clusters) {
    DIR dir;
    FILINFO fno;
    size_t len = strlen(path);
    FRESULT fr = f_opendir(&dir, len ? path : "/");
    if (fr != FR_OK) {
        printf("O %d %ld\n", (int)fr, id);
        return;
    }
    clusters[depth] = dir.obj.sclust;
    for (int up = 0; up < depth; up++) {
        if (clusters[up] == dir.obj.sclust) {
            printf("P %ld\n", id);
            f_closedir(&dir);
            return;
        }
    }
    while ((fr = f_readdir(&dir, &fno)) == FR_OK && fno.fname[0]) {
        if (++listed > MAX_ENTRIES) {
            printf("T\n");
            break;
        }
        long self = listed;
        int is_dir = (fno.fattrib & AM_DIR) != 0;
        printf("E %ld %ld %c %02x %lu ", self, id, is_dir ? 'd' : 'f', fno.fattrib, (unsigned long)fno.fsize);
        hex_text(fno.fname), putchar(' ');
#if FF_USE_LFN
        hex_text(fno.altname);
#else
        hex("", 0);
#endif
        putchar('\n');
        path[len] = '/';
        strcpy(path + len + 1, fno.fname);
        if (!is_dir) printf("C "), content(path), putchar('\n');
        else if (depth + 1 < MAX_DEPTH) walk(self, depth + 1, clusters);
        else printf("P %ld\n", self);
        path[len] = 0;
    }
    if (fr != FR_OK) printf("R %d %ld\n", (int)fr, id);
    f_closedir(&dir);
}

static int unhex(const char *text, char *out, size_t room) {
    size_t n = strlen(text);
    if (n % 2 || n / 2 + 2 > room) return -1;
    out[0] = '/';
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int byte;
        if (sscanf(text + 2 * i, "%2x", &byte) != 1) return -1;
        out[i + 1] = (char)byte;
    }
    out[n / 2 + 1] = 0;
    return 0;
}

static void lookups(void) {
    char *line = NULL;
    size_t room = 0;
    while (getline(&line, &room, stdin) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || unhex(line, path, sizeof path) != 0) continue;
        FILINFO fno;
        FRESULT fr = f_stat(path, &fno);
        int is_dir = fr == FR_OK && (fno.fattrib & AM_DIR);
        printf("L %d %c %s ", (int)fr, fr != FR_OK ? '-' : is_dir ? 'd' : 'f', line);
        if (fr == FR_OK && !is_dir) content(path);
        else printf("- %d", (int)FR_OK);
        putchar('\n');
    }
    free(line);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "-V") == 0) {
        printf("FatFs %s rev %d FF_USE_LFN %d FF_LFN_UNICODE %d FF_CODE_PAGE %d FF_MAX_LFN %d FF_LFN_BUF %d "
               "FF_SFN_BUF %d FF_FS_READONLY %d char %s\n",
               READER_RELEASE, FF_DEFINED, FF_USE_LFN, FF_LFN_UNICODE, FF_CODE_PAGE, FF_MAX_LFN, FF_LFN_BUF,
               FF_SFN_BUF, FF_FS_READONLY, CHAR_MIN == 0 ? "unsigned" : "signed");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s IMAGE < PATHS (hex, one a line) | %s -V\n", argv[0], argv[0]);
        return 2;
    }
    struct stat st;
    image = open(argv[1], O_RDONLY);
    if (image < 0 || fstat(image, &st) != 0) {
        perror(argv[1]);
        return 2;
    }
    sectors = (LBA_t)(st.st_size / FF_MAX_SS);
    static FATFS fs;
    FRESULT fr = f_mount(&fs, "", 1);
    if (fr != FR_OK) {
        printf("M %d\n", (int)fr);
        return 0;
    }
    static DWORD clusters[MAX_DEPTH];
    walk(0, 0, clusters);
    lookups();
    return ferror(stdout) ? 1 : 0;
}
