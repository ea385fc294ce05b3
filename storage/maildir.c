/* Maildir++ file layer: message file names (parse/format, unique bases), the
 * streamed tmp/ writer with CRLF size accounting, mailbox directory creation
 * and removal, directory scans and the loft-keywords table file. Pure POSIX
 * file work; it knows nothing of LMDB and every function reports -errno. */
#include "storage/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/path.h"
#include "lib/xmem.h"
#include "storage/store.h"

#define KEYWORDS_FILE "loft-keywords"
/* Highest keyword id accepted when reading the table (junk protection). */
#define KEYWORDS_MAX_ID 65535

/* ---- file names ---- */

struct flag_letter {
	char letter;
	uint32_t flag;
};

/* ASCII order, as the Maildir spec requires. 'P' (passed) has no IMAP flag:
 * it is accepted on parse and dropped. */
static const struct flag_letter flag_letters[] = {
	{ 'D', STORE_FLAG_DRAFT },
	{ 'F', STORE_FLAG_FLAGGED },
	{ 'R', STORE_FLAG_ANSWERED },
	{ 'S', STORE_FLAG_SEEN },
	{ 'T', STORE_FLAG_DELETED },
};

static bool parse_u64(const char *s, size_t len, uint64_t max, uint64_t *value_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*value_r = v;
	return true;
}

/* A ",X=<digits>" field we know (U, S, W); anything else stays in the base. */
static bool parse_field(const char *tok, size_t len, struct maildir_name *name)
{
	uint64_t v;

	if (len < 3 || tok[1] != '=')
		return false;
	switch (tok[0]) {
	case 'U':
		if (!parse_u64(tok + 2, len - 2, UINT32_MAX, &v))
			return false;
		name->uid = (uint32_t)v;
		return true;
	case 'S':
		if (!parse_u64(tok + 2, len - 2, UINT64_MAX, &v))
			return false;
		name->size = v;
		return true;
	case 'W':
		if (!parse_u64(tok + 2, len - 2, UINT64_MAX, &v))
			return false;
		name->vsize = v;
		return true;
	default:
		return false;
	}
}

static void parse_info(const char *info, struct maildir_name *name)
{
	for (const char *p = info; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z') {
			name->keyword_bits |= 1u << (*p - 'a');
			continue;
		}
		for (size_t i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++) {
			if (flag_letters[i].letter == *p)
				name->flags |= flag_letters[i].flag;
		}
	}
}

int maildir_name_parse(const char *filename, struct maildir_name *name_r)
{
	memset(name_r, 0, sizeof(*name_r));
	if (filename == NULL || filename[0] == '\0' || filename[0] == '.' ||
	    strchr(filename, '/') != NULL)
		return -1;

	const char *colon = strchr(filename, ':');
	size_t head_len = colon != NULL ? (size_t)(colon - filename) : strlen(filename);
	if (colon != NULL && colon[1] == '2' && colon[2] == ',') {
		name_r->has_info = true;
		parse_info(colon + 3, name_r);
	}

	/* The base is the head with the known fields cut out; unknown
	 * ",tokens" stay so two foreign files never share an identity. */
	size_t base_len = 0;
	const char *tok = filename;
	const char *end = filename + head_len;
	bool first = true;
	while (tok <= end) {
		const char *comma = memchr(tok, ',', (size_t)(end - tok));
		const char *tok_end = comma != NULL ? comma : end;
		size_t tok_len = (size_t)(tok_end - tok);
		if (first || !parse_field(tok, tok_len, name_r)) {
			size_t need = tok_len + (first ? 0 : 1);
			if (base_len + need >= sizeof(name_r->base)) {
				memset(name_r, 0, sizeof(*name_r));
				return -1;
			}
			if (!first)
				name_r->base[base_len++] = ',';
			memcpy(name_r->base + base_len, tok, tok_len);
			base_len += tok_len;
		}
		first = false;
		if (comma == NULL)
			break;
		tok = comma + 1;
	}
	name_r->base[base_len] = '\0';
	if (base_len == 0) {
		memset(name_r, 0, sizeof(*name_r));
		return -1;
	}
	return 0;
}

int maildir_name_format(const struct maildir_name *name, char *buf, size_t bufsize)
{
	size_t base_len = strnlen(name->base, sizeof(name->base));
	if (base_len == 0 || base_len == sizeof(name->base) || name->base[0] == '.' ||
	    strpbrk(name->base, "/:") != NULL)
		return -1;

	char tail[128];
	size_t n = 0;
	int r;
	if (name->uid != 0) {
		r = snprintf(tail + n, sizeof(tail) - n, ",U=%" PRIu32, name->uid);
		n += (size_t)r;
	}
	if (name->size != 0) {
		r = snprintf(tail + n, sizeof(tail) - n, ",S=%" PRIu64, name->size);
		n += (size_t)r;
	}
	if (name->vsize != 0) {
		r = snprintf(tail + n, sizeof(tail) - n, ",W=%" PRIu64, name->vsize);
		n += (size_t)r;
	}
	if (name->has_info || (name->flags & ~(uint32_t)STORE_FLAG_RECENT) != 0 ||
	    name->keyword_bits != 0) {
		memcpy(tail + n, ":2,", 3);
		n += 3;
		for (size_t i = 0; i < sizeof(flag_letters) / sizeof(flag_letters[0]); i++) {
			if ((name->flags & flag_letters[i].flag) != 0)
				tail[n++] = flag_letters[i].letter;
		}
		for (unsigned i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
			if ((name->keyword_bits & (1u << i)) != 0)
				tail[n++] = (char)('a' + i);
		}
	}
	tail[n] = '\0';

	size_t total = base_len + n;
	if (total + 1 > bufsize)
		return -1;
	memcpy(buf, name->base, base_len);
	memcpy(buf + base_len, tail, n + 1);
	return (int)total;
}

/* The host name as the Maildir spec wants it: '/' and ':' written as \057
 * and \072 (and ',' as \054, since ',' starts our fields). Truncated to
 * room bytes without cutting an escape. */
static void escape_host(const char *host, char *out, size_t room)
{
	size_t n = 0;

	for (const char *p = host; *p != '\0'; p++) {
		const char *esc = NULL;
		if (*p == '/')
			esc = "\\057";
		else if (*p == ':')
			esc = "\\072";
		else if (*p == ',')
			esc = "\\054";
		size_t len = esc != NULL ? 4 : 1;
		if (n + len + 1 > room)
			break;
		if (esc != NULL)
			memcpy(out + n, esc, 4);
		else
			out[n] = *p;
		n += len;
	}
	out[n] = '\0';
}

/* Process-wide sequence for new_base: the documented exception to "no
 * mutable globals", needed to make bases unique between threads that share
 * a pid and the same microsecond. */
static uint64_t new_base_seq;

void maildir_new_base(char *buf, size_t bufsize)
{
	struct timespec ts;
	uint64_t rnd = 0;
	char host[256];
	char host_esc[128];

	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t seq = __atomic_fetch_add(&new_base_seq, 1, __ATOMIC_RELAXED);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ (seq * 0x9e3779b97f4a7c15ULL);
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';

	char head[96];
	int n = snprintf(head, sizeof(head), "%lld.M%06ldP%dQ%" PRIu64 "R%016" PRIx64 ".",
			 (long long)ts.tv_sec, (long)(ts.tv_nsec / 1000), (int)getpid(),
			 seq, rnd);
	size_t limit = bufsize < sizeof(((struct maildir_name *)0)->base) ?
		bufsize : sizeof(((struct maildir_name *)0)->base);
	size_t room = limit > (size_t)n ? limit - (size_t)n : 1;
	if (room > sizeof(host_esc))
		room = sizeof(host_esc);
	escape_host(host, host_esc, room);
	snprintf(buf, bufsize, "%s%s", head, host_esc);
}

/* ---- directories ---- */

int maildir_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = 0;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int mkdir_is_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int maildir_create(const char *dir)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	int ret = mkdir_is_dir(dir);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", dir, subdirs[i]);
		ret = mkdir_is_dir(sub);
		free(sub);
		if (ret < 0)
			return ret;
	}
	/* Each call fsyncs, so a call that returns 0 always leaves the whole
	 * tree durable even if an earlier one failed half way. */
	ret = maildir_fsync_dir(dir);
	if (ret < 0)
		return ret;
	char *parent = path_dir_of(dir);
	ret = maildir_fsync_dir(parent);
	free(parent);
	return ret;
}

/* ---- the directory walker ---- */

/* Called for each entry of a walked directory (dfd) but "." and "..",
 * with its lstat (NULL when the walk asked for none). Returns 0 to go on;
 * anything else stops the walk and becomes its result. */
typedef int walk_fn(int dfd, const char *name, const struct stat *st, void *ctx);

/* The one readdir loop of this file: walks the directory open at fd (taken
 * over and closed) from its start. With with_stat, an entry renamed away
 * between readdir and lstat is skipped, as Maildir files move all the time.
 * Returns 0, the first non-zero result of fn, or -errno. */
static int walk_dir(int fd, bool with_stat, walk_fn *fn, void *ctx)
{
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int err = -errno;
		close(fd);
		return err;
	}
	rewinddir(d);
	int ret = 0;
	struct dirent *de;
	errno = 0;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!with_stat)
			ret = fn(dirfd(d), de->d_name, NULL, ctx);
		else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			ret = fn(dirfd(d), de->d_name, &st, ctx);
		else if (errno != ENOENT)
			ret = -errno;
		errno = 0;
	}
	if (ret == 0 && errno != 0)
		ret = -errno;
	closedir(d);
	return ret;
}

static bool is_maildir_subdir(const char *name)
{
	return strcmp(name, "cur") == 0 || strcmp(name, "new") == 0 ||
	       strcmp(name, "tmp") == 0;
}

/* Empty one of cur/new/tmp (regular files and symlinks only; never
 * follows a link). With check_only, only verify it holds nothing else. */
static int empty_entry(int dfd, const char *name, const struct stat *st, void *ctx)
{
	const bool *check_only = ctx;
	if (S_ISDIR(st->st_mode))
		return -ENOTEMPTY;
	if (!*check_only && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int empty_subdir(int dfd, const char *name, bool check_only)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return walk_dir(fd, true, empty_entry, &check_only);
}

/* One pass over the mailbox directory. check_only verifies that it holds
 * only cur/new/tmp and plain files; otherwise it removes them. */
static int remove_entry(int dfd, const char *name, const struct stat *st, void *ctx)
{
	const bool *check_only = ctx;
	if (!S_ISDIR(st->st_mode)) {
		if (!*check_only && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (!is_maildir_subdir(name))
		return -ENOTEMPTY;
	int ret = empty_subdir(dfd, name, *check_only);
	if (ret == 0 && !*check_only && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		ret = -errno;
	return ret;
}

static int remove_pass(int dfd, bool check_only)
{
	int fd = dup(dfd);
	if (fd < 0)
		return -errno;
	return walk_dir(fd, true, remove_entry, &check_only);
}

int maildir_remove(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	/* Verify first so a directory holding another mailbox (or anything
	 * we do not know) is left untouched rather than half deleted. */
	int ret = remove_pass(dfd, true);
	if (ret == 0)
		ret = remove_pass(dfd, false);
	close(dfd);
	if (ret < 0)
		return ret;
	if (rmdir(dir) < 0)
		return -errno;
	char *parent = path_dir_of(dir);
	ret = maildir_fsync_dir(parent);
	free(parent);
	return ret;
}

int maildir_rename(const char *from, const char *to)
{
	return rename(from, to) < 0 ? -errno : 0;
}

/* ---- the tmp/ writer ---- */

uint64_t maildir_crlf_size(const void *data, size_t len, bool *last_was_cr)
{
	const unsigned char *p = data, *end = p + len, *q = p;
	uint64_t size = len;

	if (len == 0)
		return 0;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (!(q > p ? q[-1] == '\r' : *last_was_cr))
			size++;
		q++;
	}
	*last_was_cr = end[-1] == '\r';
	return size;
}

/* Make <dir>/tmp/<new base> with make(tmp) (0 or -errno), trying another
 * base while the name exists. */
static int tmp_new(const char *dir, struct maildir_tmp *tmp, int (*make)(struct maildir_tmp *tmp,
									   const char *src),
		   const char *src)
{
	memset(tmp, 0, sizeof(*tmp));
	tmp->fd = -1;
	for (int attempt = 0; attempt < 5; attempt++) {
		maildir_new_base(tmp->base, sizeof(tmp->base));
		int n = snprintf(tmp->path, sizeof(tmp->path), "%s/tmp/%s", dir, tmp->base);
		if (n < 0 || (size_t)n >= sizeof(tmp->path)) {
			tmp->path[0] = '\0';
			return -ENAMETOOLONG;
		}
		int r = make(tmp, src);
		if (r != -EEXIST) {
			if (r != 0)
				tmp->path[0] = '\0';
			return r;
		}
	}
	tmp->path[0] = '\0';
	return -EEXIST;
}

static int tmp_open(struct maildir_tmp *tmp, const char *src)
{
	(void)src;
	tmp->fd = open(tmp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return tmp->fd >= 0 ? 0 : -errno;
}

static int tmp_link(struct maildir_tmp *tmp, const char *src)
{
	return link(src, tmp->path) == 0 ? 0 : -errno;
}

int maildir_tmp_create(const char *dir, struct maildir_tmp *tmp)
{
	return tmp_new(dir, tmp, tmp_open, NULL);
}

int maildir_tmp_link(const char *dir, const struct maildir_tmp *src, struct maildir_tmp *tmp)
{
	int r = tmp_new(dir, tmp, tmp_link, src->path);
	if (r == 0) {
		tmp->size = src->size;
		tmp->vsize = src->vsize;
	}
	return r;
}

int maildir_tmp_write(struct maildir_tmp *tmp, const void *data, size_t len)
{
	const char *p = data;
	size_t left = len;

	if (tmp->fd < 0)
		return -EBADF;
	while (left > 0) {
		ssize_t n = write(tmp->fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		tmp->size += (uint64_t)n;
		tmp->vsize += maildir_crlf_size(p, (size_t)n, &tmp->last_was_cr);
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

int maildir_tmp_finish(struct maildir_tmp *tmp)
{
	if (tmp->fd < 0)
		return -EBADF;
	int ret = 0;
	while (fsync(tmp->fd) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			break;
		}
	}
	if (close(tmp->fd) < 0 && ret == 0 && errno != EINTR)
		ret = -errno;
	tmp->fd = -1;
	return ret;
}

void maildir_tmp_discard(struct maildir_tmp *tmp)
{
	if (tmp->fd >= 0) {
		close(tmp->fd);
		tmp->fd = -1;
	}
	if (tmp->path[0] != '\0') {
		if (unlink(tmp->path) < 0 && errno != ENOENT)
			log_warn("maildir: unlink tmp failed path=%s err=%s",
				 tmp->path, strerror(errno));
		tmp->path[0] = '\0';
	}
}

struct tmp_cleanup {
	const char *path;
	const char *prefix;      /* only names starting so; NULL: all */
	time_t now;
	int64_t max_age_sec;
};

static int tmp_cleanup_entry(int dfd, const char *name, const struct stat *st, void *ctx)
{
	const struct tmp_cleanup *tc = ctx;
	if (name[0] == '.' || S_ISDIR(st->st_mode) ||
	    (tc->prefix != NULL && strncmp(name, tc->prefix, strlen(tc->prefix)) != 0) ||
	    (int64_t)tc->now - (int64_t)st->st_mtime <= tc->max_age_sec)
		return 0;
	if (unlinkat(dfd, name, 0) == 0)
		log_info("maildir: removed stale tmp file dir=%s name=%s", tc->path, name);
	else if (errno != ENOENT)
		log_warn("maildir: cannot remove stale tmp file dir=%s name=%s err=%s",
			 tc->path, name, strerror(errno));
	return 0;
}

void maildir_tmp_cleanup(const char *dir, int64_t max_age_sec)
{
	char *tmp = xasprintf("%s/tmp", dir);
	struct tmp_cleanup tc = { tmp, NULL, time(NULL), max_age_sec };
	int fd = open(tc.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		(void)walk_dir(fd, true, tmp_cleanup_entry, &tc);
	free(tmp);
	/* In a user's root (INBOX's directory): keyword files a crash left
	 * half written (maildir_keywords_write). */
	tc.path = dir;
	tc.prefix = KEYWORDS_FILE ".tmp.";
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		(void)walk_dir(fd, true, tmp_cleanup_entry, &tc);
}

/* ---- scans ---- */

struct scan_ctx {
	bool in_new;
	struct maildir_entry **entries;
	size_t *count, *alloc;
};

/* Symlinks are not adopted: a link could point anywhere. */
static int scan_entry(int dfd, const char *fname, const struct stat *st, void *ctx)
{
	struct scan_ctx *sc = ctx;
	struct maildir_name name;
	(void)dfd;
	if (fname[0] == '.' || !S_ISREG(st->st_mode) || maildir_name_parse(fname, &name) < 0)
		return 0;
	if (*sc->count == *sc->alloc) {
		*sc->alloc = *sc->alloc == 0 ? 64 : *sc->alloc * 2;
		*sc->entries = xrealloc(*sc->entries, *sc->alloc * sizeof(**sc->entries));
	}
	struct maildir_entry *e = &(*sc->entries)[(*sc->count)++];
	e->filename = xstrdup(fname);
	e->in_new = sc->in_new;
	e->name = name;
	e->mtime = (int64_t)st->st_mtim.tv_sec;
	e->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	e->file_size = (uint64_t)st->st_size;
	return 0;
}

static int scan_subdir(const char *dir, const char *sub, bool in_new,
		       struct maildir_entry **entries, size_t *count, size_t *alloc)
{
	char *path = xasprintf("%s/%s", dir, sub);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	struct scan_ctx sc = { in_new, entries, count, alloc };
	return walk_dir(fd, true, scan_entry, &sc);
}

int maildir_scan(const char *dir, struct maildir_entry **entries_r, size_t *count_r)
{
	struct maildir_entry *entries = NULL;
	size_t count = 0, alloc = 0;

	int ret = scan_subdir(dir, "cur", false, &entries, &count, &alloc);
	if (ret == 0)
		ret = scan_subdir(dir, "new", true, &entries, &count, &alloc);
	if (ret < 0) {
		maildir_scan_free(entries, count);
		*entries_r = NULL;
		*count_r = 0;
		return ret;
	}
	*entries_r = entries;
	*count_r = count;
	return 0;
}

void maildir_scan_free(struct maildir_entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(entries[i].filename);
	free(entries);
}

int maildir_dir_stamp(const char *dir, int64_t *cur_ns_r, int64_t *new_ns_r)
{
	static const char *const subs[] = { "cur", "new" };
	int64_t *outs[] = { cur_ns_r, new_ns_r };

	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		char *path = xasprintf("%s/%s", dir, subs[i]);
		int r = stat(path, &st);
		free(path);
		if (r < 0)
			return -errno;
		*outs[i] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	return 0;
}

struct find_ctx {
	const char *path, *base;
	char **path_r;
};

static int find_entry(int dfd, const char *fname, const struct stat *st, void *ctx)
{
	struct find_ctx *fc = ctx;
	struct maildir_name name;
	(void)dfd;
	(void)st;
	if (maildir_name_parse(fname, &name) < 0 || strcmp(name.base, fc->base) != 0)
		return 0;
	*fc->path_r = xasprintf("%s/%s", fc->path, fname);
	return 1;
}

static int find_in(const char *dir, const char *sub, const char *base, char **path_r)
{
	char *path = xasprintf("%s/%s", dir, sub);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		free(path);
		return err;
	}
	struct find_ctx fc = { path, base, path_r };
	int ret = walk_dir(fd, false, find_entry, &fc);
	free(path);
	return ret == 1 ? 0 : ret == 0 ? -ENOENT : ret;
}

int maildir_find_base(const char *dir, const char *base, char **path_r)
{
	*path_r = NULL;
	int ret = find_in(dir, "cur", base, path_r);
	if (ret == -ENOENT)
		ret = find_in(dir, "new", base, path_r);
	return ret;
}

/* ---- keyword table ---- */

static bool keyword_name_ok(const char *name)
{
	if (name[0] == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int maildir_keywords_write(const char *user_dir, char *const *names, size_t count)
{
	if (count > (size_t)KEYWORDS_MAX_ID + 1)
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		if (names[i] != NULL && !keyword_name_ok(names[i]))
			return -EINVAL;
	}

	char base[128];
	maildir_new_base(base, sizeof(base));
	char *tmp_path = xasprintf("%s/" KEYWORDS_FILE ".tmp.%s", user_dir, base);
	char *path = xasprintf("%s/" KEYWORDS_FILE, user_dir);
	int ret = 0;
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < count && ret == 0; i++) {
		if (names[i] == NULL)
			continue;
		char *line = xasprintf("%zu %s\n", i, names[i]);
		ret = write_all(fd, line, strlen(line));
		free(line);
	}
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0 && errno != EINTR)
		ret = -errno;
	if (ret == 0 && rename(tmp_path, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp_path);
	else
		ret = maildir_fsync_dir(user_dir);
out:
	free(tmp_path);
	free(path);
	return ret;
}

int maildir_keywords_read(const char *user_dir, char ***names_r, size_t *count_r)
{
	char *path = xasprintf("%s/" KEYWORDS_FILE, user_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	*names_r = NULL;
	*count_r = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		int err = -errno;
		close(fd);
		return err;
	}

	char **names = NULL;
	size_t count = 0;
	char *line = NULL;
	size_t line_alloc = 0;
	ssize_t len;
	unsigned junk = 0;
	while ((len = getline(&line, &line_alloc, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		char *sp = memchr(line, ' ', (size_t)len);
		uint64_t id;
		if (sp == NULL || !parse_u64(line, (size_t)(sp - line), KEYWORDS_MAX_ID, &id) ||
		    strlen(sp + 1) != (size_t)(line + len - (sp + 1)) || !keyword_name_ok(sp + 1)) {
			junk++;
			continue;
		}
		if (id >= count) {
			names = xrealloc(names, (id + 1) * sizeof(*names));
			memset(names + count, 0, (id + 1 - count) * sizeof(*names));
			count = id + 1;
		}
		free(names[id]);
		names[id] = xstrdup(sp + 1);
	}
	int ret = ferror(f) ? -EIO : 0;
	if (junk > 0)
		log_warn("maildir: skipped junk lines file=%s/" KEYWORDS_FILE " count=%u",
			 user_dir, junk);
	free(line);
	fclose(f);
	if (ret < 0) {
		for (size_t i = 0; i < count; i++)
			free(names[i]);
		free(names);
		return ret;
	}
	*names_r = names;
	*count_r = count;
	return 0;
}
