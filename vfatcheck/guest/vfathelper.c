/* The guest side of vfatcheck's Linux back-ends and producer; runs as root inside the virtual machine.
 *
 *   vfathelper read JOB    mount every image of JOB in every view, list it, open paths, report
 *   vfathelper write JOB   mount one image read-write and create the entries of JOB in order
 *
 * JOB is text, one command a line, fields separated by one space; every name or path is lower-case
 * hex so that any byte survives. Every output line starts with "@vfc " and holds only ASCII; the
 * host (vfatcheck/vm/protocol.py) parses them and ignores everything else on the console.
 *
 * read:  view FSTYPE OPTIONS | image DEVICE | lookup VIEW HEXPATH (for the image before it)
 * write: clock UNIXSECONDS | mount DEVICE FSTYPE OPTIONS | mkdir HEXPATH | file HEXPATH DATAFILE
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/msdos_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

#define MNT "/mnt"
#define MAX_VIEWS 8
#define MAX_DEPTH 64         /* a directory loop in a hostile image must not list forever */
#define MAX_ENTRIES 200000
#define LINE_MAX_LEN 8192

struct view {
	char fstype[32];
	char options[512];
};

static struct view views[MAX_VIEWS];
static int nviews;
static long entries_left;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char line[LINE_MAX_LEN * 2 + 128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line, so that a kernel message cannot land inside it */
	for (int done = 0; done < n;) {
		ssize_t w = write(1, line + done, (size_t)(n - done));
		if (w <= 0)
			return;
		done += (int)w;
	}
}

static void hex(char *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = "0123456789abcdef"[src[i] >> 4];
		dst[2 * i + 1] = "0123456789abcdef"[src[i] & 15];
	}
	dst[2 * n] = 0;
}

static int unhex(char *dst, size_t room, const char *src)
{
	size_t n = strlen(src);
	if (n % 2 || n / 2 >= room)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int byte;
		if (sscanf(src + 2 * i, "%2x", &byte) != 1)
			return -1;
		dst[i] = (char)byte;
	}
	dst[n / 2] = 0;
	return (int)(n / 2);
}

/* Read an open file to its end: the size the kernel states for it (fstat) and the sha256 of what
 * read() returned, or the errno that stopped it. */
static int digest_fd(int fd, long long *size, char sha[65])
{
	static unsigned char buf[1 << 16];
	struct stat st;
	struct sha256 s;
	if (fstat(fd, &st))
		return errno;
	*size = (long long)st.st_size;
	sha256_init(&s);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return errno;
		if (n == 0)
			break;
		sha256_update(&s, buf, (size_t)n);
	}
	sha256_hex(&s, sha);
	return 0;
}

/* The kernel's messages since the last call, one line each: "@vfc klog LEVEL HEXTEXT". */
static void flush_klog(void)
{
	static char buf[1 << 17];
	int n = klogctl(4 /* SYSLOG_ACTION_READ_CLEAR */, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = 0;
	char hexline[LINE_MAX_LEN * 2 + 1];
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		int level = 6;
		if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
			level = line[1] - '0';
			line += 3;
		}
		size_t len = strnlen(line, LINE_MAX_LEN);
		hex(hexline, (const unsigned char *)line, len);
		out("@vfc klog %d %s", level, hexline);
	}
}

struct shortname {
	char name[256];
	char shown[256]; /* what readdir shows for it: the long name (cut to 255 bytes) or the short */
};

/* Every (short, shown) pair VFAT_IOCTL_READDIR_BOTH gives for the directory open at `fd`. */
static int short_names(int dirfd, struct shortname **list)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
	int count = 0, room = 0;
	*list = NULL;
	if (fd < 0)
		return 0;
	struct __fat_dirent d[2];
	while (ioctl(fd, VFAT_IOCTL_READDIR_BOTH, d) > 0 && d[0].d_reclen > 0) {
		if (count == room) {
			room = room ? room * 2 : 64;
			*list = realloc(*list, (size_t)room * sizeof(**list));
			if (!*list)
				break;
		}
		struct shortname *sn = &(*list)[count++];
		snprintf(sn->name, sizeof(sn->name), "%s", d[0].d_name);
		snprintf(sn->shown, sizeof(sn->shown), "%s", d[1].d_reclen ? d[1].d_name : d[0].d_name);
	}
	close(fd);
	return count;
}

static int is_dot(const char *name) { return !strcmp(name, ".") || !strcmp(name, ".."); }

/* The ioctl skips some entries readdir shows, so pair by name: the next ioctl record whose shown
 * name is the readdir name (cut to 255 bytes, as the ioctl cuts it). */
static const char *short_for(const char *name, struct shortname *list, int count, int *next)
{
	for (int i = *next; i < count; i++) {
		if (is_dot(list[i].shown))
			continue;
		if (!strncmp(list[i].shown, name, 255) && strlen(list[i].shown) == (strlen(name) > 255 ? 255 : strlen(name))) {
			*next = i + 1;
			return list[i].name;
		}
	}
	return NULL;
}

static int next_id;

static void list_dir(int dirfd, int id, int depth);

/* One entry: open it by the name readdir gave, report what that shows, descend into directories. */
static void list_entry(int dirfd, int parent, const char *name, unsigned char type, const char *shortname, int depth)
{
	int id = ++next_id;
	char namehex[LINE_MAX_LEN], shorthex[600], sha[65] = "-";
	long long size = -1;
	int err = 0;
	hex(namehex, (const unsigned char *)name, strnlen(name, LINE_MAX_LEN / 2 - 1));
	if (shortname)
		hex(shorthex, (const unsigned char *)shortname, strlen(shortname));
	else
		strcpy(shorthex, "-");
	char kind = type == DT_DIR ? 'd' : type == DT_REG ? 'f' : 'o';
	int fd = openat(dirfd, name, O_RDONLY | (kind == 'd' ? O_DIRECTORY : 0));
	if (fd < 0) {
		err = errno;
	} else if (kind == 'f') {
		err = digest_fd(fd, &size, sha);
		if (err)
			strcpy(sha, "-");
	}
	out("@vfc entry %d %d %c %d %lld %s %s %s", parent, id, kind, err, size, sha, namehex, shorthex);
	if (fd >= 0 && kind == 'd') {
		if (depth + 1 >= MAX_DEPTH)
			out("@vfc limit depth %d", id);
		else
			list_dir(fd, id, depth + 1);
	}
	if (fd >= 0)
		close(fd);
}

static void list_dir(int dirfd, int id, int depth)
{
	struct shortname *shorts;
	int nshort = short_names(dirfd, &shorts), next = 0;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		out("@vfc dir-error %d %d", id, errno);
		free(shorts);
		return;
	}
	enum { BUF = 1 << 16 };
	char *buf = malloc(BUF); /* per level: the walk recurses while this buffer is being read */
	if (!buf) {
		close(fd);
		free(shorts);
		return;
	}
	for (;;) {
		long n = getdents64(fd, buf, BUF);
		if (n < 0)
			out("@vfc dir-error %d %d", id, errno);
		if (n <= 0)
			break;
		for (long pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);
			pos += d->d_reclen;
			if (is_dot(d->d_name))
				continue;
			if (--entries_left < 0) {
				out("@vfc limit entries %d", id);
				goto done;
			}
			/* d_name is only valid until the next getdents64: copy it */
			char name[LINE_MAX_LEN / 2];
			snprintf(name, sizeof(name), "%s", d->d_name);
			list_entry(fd, id, name, d->d_type, short_for(name, shorts, nshort, &next), depth);
		}
	}
done:
	close(fd);
	free(buf);
	free(shorts);
}

static void lookup(const char *hexpath)
{
	char rel[LINE_MAX_LEN], path[LINE_MAX_LEN + 8], sha[65] = "-";
	long long size = -1;
	char kind = '-';
	int err = 0;
	if (unhex(rel, sizeof(rel), hexpath) < 0) {
		out("@vfc lookup %d - -1 - %s", EINVAL, hexpath);
		return;
	}
	snprintf(path, sizeof(path), MNT "/%s", rel);
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = errno;
	} else if (S_ISDIR(st.st_mode)) {
		kind = 'd';
	} else {
		kind = 'f';
		err = digest_fd(fd, &size, sha);
	}
	if (fd >= 0)
		close(fd);
	out("@vfc lookup %d %c %lld %s %s", err, kind, size, err ? "-" : sha, hexpath);
}

static void read_image(const char *device, int image, char **lookups, int nlookups)
{
	for (int v = 0; v < nviews; v++) {
		out("@vfc begin %d %d", image, v);
		const char *options = strcmp(views[v].options, "-") ? views[v].options : "";
		int err = mount(device, MNT, views[v].fstype, MS_RDONLY, options) ? errno : 0;
		out("@vfc mount %d", err);
		if (!err) {
			next_id = 0;
			entries_left = MAX_ENTRIES;
			int root = open(MNT, O_RDONLY | O_DIRECTORY);
			if (root >= 0) {
				list_dir(root, 0, 0);
				close(root);
			}
			for (int i = 0; i < nlookups; i++) {
				char *hexpath = strchr(lookups[i], ' ');
				if (hexpath && atoi(lookups[i]) == v)
					lookup(hexpath + 1);
			}
			if (umount(MNT))
				out("@vfc umount %d", errno);
		}
		flush_klog();
		out("@vfc end %d %d", image, v);
	}
}

static int run_read(FILE *job)
{
	char line[LINE_MAX_LEN], device[256] = "";
	char **lookups = NULL;
	int nlookups = 0, room = 0, image = -1;
	while (fgets(line, sizeof(line), job)) {
		line[strcspn(line, "\n")] = 0;
		char *arg = strchr(line, ' ');
		if (!arg)
			continue;
		*arg++ = 0;
		if (!strcmp(line, "view") && nviews < MAX_VIEWS) {
			char *opts = strchr(arg, ' ');
			if (!opts)
				continue;
			*opts++ = 0;
			snprintf(views[nviews].fstype, sizeof(views[nviews].fstype), "%s", arg);
			snprintf(views[nviews].options, sizeof(views[nviews].options), "%s", opts);
			nviews++;
		} else if (!strcmp(line, "image")) {
			if (image >= 0)
				read_image(device, image, lookups, nlookups);
			for (int i = 0; i < nlookups; i++)
				free(lookups[i]);
			nlookups = 0;
			image++;
			snprintf(device, sizeof(device), "%s", arg);
		} else if (!strcmp(line, "lookup")) {
			if (nlookups == room) {
				room = room ? room * 2 : 256;
				lookups = realloc(lookups, (size_t)room * sizeof(*lookups));
				if (!lookups)
					return 1;
			}
			lookups[nlookups++] = strdup(arg);
		}
	}
	if (image >= 0)
		read_image(device, image, lookups, nlookups);
	return 0;
}

/* The writer keeps the guest's clock at the corpus timestamp: set before every operation, so that the
 * kernel stamps every entry with it (the DOS fields have 2 s resolution, the creation 10 ms). */
static void set_clock(time_t when)
{
	struct timespec ts = {when, 0};
	if (when >= 0)
		clock_settime(CLOCK_REALTIME, &ts);
}

static int copy_file(const char *from, int to)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY);
	if (in < 0)
		return errno;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n <= 0) {
			close(in);
			return n < 0 ? errno : 0;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(to, buf + done, (size_t)(n - done));
			if (w < 0) {
				close(in);
				return errno;
			}
			done += w;
		}
	}
}

static int make(const char *cmd, const char *arg, time_t when)
{
	char rel[LINE_MAX_LEN], path[LINE_MAX_LEN + 8], *data = strchr(arg, ' ');
	if (data)
		*data++ = 0;
	if (unhex(rel, sizeof(rel), arg) < 0)
		return EINVAL;
	snprintf(path, sizeof(path), MNT "/%s", rel);
	set_clock(when);
	if (!strcmp(cmd, "mkdir"))
		return mkdir(path, 0755) ? errno : 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return errno;
	set_clock(when);
	int err = data ? copy_file(data, fd) : EINVAL;
	if (close(fd) && !err)
		err = errno;
	return err;
}

static int run_write(FILE *job)
{
	char line[LINE_MAX_LEN];
	time_t when = -1;
	int mounted = 0, failed = 0;
	while (fgets(line, sizeof(line), job)) {
		line[strcspn(line, "\n")] = 0;
		char *arg = strchr(line, ' ');
		if (!arg)
			continue;
		*arg++ = 0;
		if (!strcmp(line, "clock")) {
			when = (time_t)atoll(arg);
		} else if (!strcmp(line, "mount")) {
			char device[256], fstype[32], options[512];
			if (sscanf(arg, "%255s %31s %511s", device, fstype, options) != 3)
				return 1;
			set_clock(when);
			int err = mount(device, MNT, fstype, 0, strcmp(options, "-") ? options : "") ? errno : 0;
			out("@vfc mount %d", err);
			if (err)
				return 1;
			mounted = 1;
		} else if (mounted && (!strcmp(line, "mkdir") || !strcmp(line, "file"))) {
			int err = make(line, arg, when);
			failed |= err != 0;
			out("@vfc made %d %s", err, arg);
		}
	}
	if (mounted) {
		set_clock(when);
		out("@vfc umount %d", umount(MNT) ? errno : 0);
	}
	sync();
	flush_klog();
	return failed;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	FILE *job = fopen(argv[2], "r");
	if (!job) {
		out("@vfc job-error %d", errno);
		return 1;
	}
	klogctl(5 /* SYSLOG_ACTION_CLEAR */, NULL, 0); /* the boot's own messages are nobody's reading */
	struct utsname un;
	out("@vfc start %s", uname(&un) ? "?" : un.release);
	int rc = !strcmp(argv[1], "write") ? run_write(job) : run_read(job);
	out("@vfc done %d", rc);
	return rc;
}
