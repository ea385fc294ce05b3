/* Unit tests of the Maildir file layer (storage/maildir.c): file name
 * parse/format including foreign names, unique bases, CRLF size at every
 * split point, the tmp/ writer and its error paths (ENOSPC, EBADF, EINTR and
 * short writes), directory creation/removal/scans and the keyword table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store.h"
#include "tests/support/unpriv.h"

/* ---- fixtures and helpers ---- */

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static int setup_dir(void **state)
{
	char *dir = xstrdup("/tmp/loft-test-maildir-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	char *dir = *state;
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return 0;
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = xmalloc(1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static char *mkpath(const char *a, const char *b)
{
	return xasprintf("%s/%s", a, b);
}

/* ---- names ---- */

static void assert_names_equal(const struct maildir_name *a, const struct maildir_name *b)
{
	assert_string_equal(a->base, b->base);
	assert_int_equal(a->uid, b->uid);
	assert_true(a->size == b->size);
	assert_true(a->vsize == b->vsize);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->keyword_bits, b->keyword_bits);
	assert_int_equal(a->has_info, b->has_info);
}

struct parse_case {
	const char *filename;
	int ret;
	const char *base;
	uint32_t uid;
	uint64_t size, vsize;
	uint32_t flags;
	uint32_t keywords;
	bool has_info;
	const char *formatted;
};

static void test_name_parse_table(void **state)
{
	static const struct parse_case cases[] = {
		/* Dovecot */
		{ "1700000000.M1P2.host,S=123,W=130:2,RS", 0, "1700000000.M1P2.host", 0, 123, 130,
		  STORE_FLAG_ANSWERED | STORE_FLAG_SEEN, 0, true,
		  "1700000000.M1P2.host,S=123,W=130:2,RS" },
		/* ours */
		{ "1.M2P3Q4R5.h,U=42,S=10,W=12:2,DFRSTac", 0, "1.M2P3Q4R5.h", 42, 10, 12,
		  STORE_FLAG_DRAFT | STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED | STORE_FLAG_SEEN |
		  STORE_FLAG_DELETED, 0x5, true, "1.M2P3Q4R5.h,U=42,S=10,W=12:2,DFRSTac" },
		/* courier / qmail: no info at all (new/) */
		{ "1700000000.12345.host", 0, "1700000000.12345.host", 0, 0, 0, 0, 0, false,
		  "1700000000.12345.host" },
		{ "1700000000.12345.host,S=99", 0, "1700000000.12345.host", 0, 99, 0, 0, 0, false,
		  "1700000000.12345.host,S=99" },
		/* empty info */
		{ "abc:2,", 0, "abc", 0, 0, 0, 0, 0, true, "abc:2," },
		/* unknown and 'P' letters ignored, order normalised, duplicates */
		{ "abc:2,ZPSxSa!", 0, "abc", 0, 0, 0, STORE_FLAG_SEEN, (1u << 0) | (1u << 23), true,
		  "abc:2,Sax" },
		{ "abc:2,TSRFD", 0, "abc", 0, 0, 0,
		  STORE_FLAG_DRAFT | STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED | STORE_FLAG_SEEN |
		  STORE_FLAG_DELETED, 0, true, "abc:2,DFRST" },
		{ "abc:2,abcdefghijklmnopqrstuvwxyz", 0, "abc", 0, 0, 0, 0, 0x3ffffff, true,
		  "abc:2,abcdefghijklmnopqrstuvwxyz" },
		/* experimental ":1," info is not ours: dropped */
		{ "abc:1,foo", 0, "abc", 0, 0, 0, 0, 0, false, "abc" },
		{ "abc:", 0, "abc", 0, 0, 0, 0, 0, false, "abc" },
		/* unknown fields stay in the base, known ones are cut out */
		{ "abc,,S=1,foo", 0, "abc,,foo", 0, 1, 0, 0, 0, false, "abc,,foo,S=1" },
		{ "abc,X=1,U=7", 0, "abc,X=1", 7, 0, 0, 0, 0, false, "abc,X=1,U=7" },
		{ "abc,S=,W=x", 0, "abc,S=,W=x", 0, 0, 0, 0, 0, false, "abc,S=,W=x" },
		{ "abc,U=4294967295", 0, "abc", 4294967295u, 0, 0, 0, 0, false, "abc,U=4294967295" },
		{ "abc,U=4294967296", 0, "abc,U=4294967296", 0, 0, 0, 0, 0, false, "abc,U=4294967296" },
		{ "abc,S=18446744073709551615", 0, "abc", 0, UINT64_MAX, 0, 0, 0, false,
		  "abc,S=18446744073709551615" },
		{ "abc,S=18446744073709551616", 0, "abc,S=18446744073709551616", 0, 0, 0, 0, 0, false,
		  "abc,S=18446744073709551616" },
		{ "abc,S=007", 0, "abc", 0, 7, 0, 0, 0, false, "abc,S=7" },
		{ "abc,U=0", 0, "abc", 0, 0, 0, 0, 0, false, "abc" },
		{ "abc,S=1,S=2", 0, "abc", 0, 2, 0, 0, 0, false, "abc,S=2" },
		/* a field as first token is part of the base */
		{ "S=5,abc", 0, "S=5,abc", 0, 0, 0, 0, 0, false, "S=5,abc" },
		/* escaped host names */
		{ "1.M1P1.a\\057b\\072c,S=3:2,S", 0, "1.M1P1.a\\057b\\072c", 0, 3, 0, STORE_FLAG_SEEN,
		  0, true, "1.M1P1.a\\057b\\072c,S=3:2,S" },
		/* only the first ':' splits; the rest is all info */
		{ "abc:2,S:2,T", 0, "abc", 0, 0, 0, STORE_FLAG_SEEN | STORE_FLAG_DELETED, 0, true,
		  "abc:2,ST" },
		/* not messages */
		{ "", -1, NULL, 0, 0, 0, 0, 0, false, NULL },
		{ ".", -1, NULL, 0, 0, 0, 0, 0, false, NULL },
		{ "..", -1, NULL, 0, 0, 0, 0, 0, false, NULL },
		{ ".hidden:2,S", -1, NULL, 0, 0, 0, 0, 0, false, NULL },
		{ "a/b", -1, NULL, 0, 0, 0, 0, 0, false, NULL },
		{ ":2,S", -1, NULL, 0, 0, 0, 0, 0, false, NULL },
		{ ",S=1:2,S", -1, NULL, 0, 0, 0, 0, 0, false, NULL },
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		struct maildir_name name;
		int ret = maildir_name_parse(c->filename, &name);
		if (ret != c->ret)
			fail_msg("parse(%s) = %d, want %d", c->filename, ret, c->ret);
		if (ret < 0) {
			assert_string_equal(name.base, "");
			continue;
		}
		assert_string_equal(name.base, c->base);
		assert_int_equal(name.uid, c->uid);
		assert_true(name.size == c->size);
		assert_true(name.vsize == c->vsize);
		assert_int_equal(name.flags, c->flags);
		assert_int_equal(name.keyword_bits, c->keywords);
		assert_int_equal(name.has_info, c->has_info);
		int len = maildir_name_format(&name, buf, sizeof(buf));
		assert_int_equal(len, (int)strlen(c->formatted));
		assert_string_equal(buf, c->formatted);
		/* Formatting is a fixed point. */
		struct maildir_name again;
		assert_int_equal(maildir_name_parse(buf, &again), 0);
		assert_names_equal(&again, &name);
	}
	assert_int_equal(maildir_name_parse(NULL, &(struct maildir_name){ 0 }), -1);
}

static void test_name_base_length(void **state)
{
	struct maildir_name name;
	char fn[300];

	memset(fn, 'x', 127);
	strcpy(fn + 127, ",S=5:2,S");
	assert_int_equal(maildir_name_parse(fn, &name), 0);
	assert_int_equal(strlen(name.base), 127);
	assert_true(name.size == 5);

	memset(fn, 'x', 128);
	strcpy(fn + 128, ":2,S");
	assert_int_equal(maildir_name_parse(fn, &name), -1);
	/* Unknown fields count toward the base length too. */
	memset(fn, 'x', 120);
	strcpy(fn + 120, ",foo=bar,S=1");
	assert_int_equal(maildir_name_parse(fn, &name), -1);
}

static void test_name_format(void **state)
{
	struct maildir_name name = { .uid = 9, .size = 100, .vsize = 102,
				     .flags = STORE_FLAG_SEEN | STORE_FLAG_RECENT,
				     .keyword_bits = 1u << 25 };
	strcpy(name.base, "B");
	char buf[64];
	const char *want = "B,U=9,S=100,W=102:2,Sz";
	int len = maildir_name_format(&name, buf, sizeof(buf));
	assert_int_equal(len, (int)strlen(want));
	assert_string_equal(buf, want);
	/* Every buffer too small fails, the exact size works. */
	for (size_t size = 0; size <= strlen(want); size++)
		assert_int_equal(maildir_name_format(&name, buf, size), -1);
	assert_int_equal(maildir_name_format(&name, buf, strlen(want) + 1), len);

	/* RECENT alone never writes info; has_info alone does. */
	struct maildir_name r = { .flags = STORE_FLAG_RECENT };
	strcpy(r.base, "B");
	assert_int_equal(maildir_name_format(&r, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "B");
	r.has_info = true;
	assert_int_equal(maildir_name_format(&r, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "B:2,");
	/* Flags without has_info still produce info. */
	struct maildir_name d = { .flags = STORE_FLAG_DELETED };
	strcpy(d.base, "B");
	maildir_name_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "B:2,T");

	/* Invalid bases. */
	struct maildir_name bad = { 0 };
	assert_int_equal(maildir_name_format(&bad, buf, sizeof(buf)), -1);
	strcpy(bad.base, "a/b");
	assert_int_equal(maildir_name_format(&bad, buf, sizeof(buf)), -1);
	strcpy(bad.base, "a:b");
	assert_int_equal(maildir_name_format(&bad, buf, sizeof(buf)), -1);
	strcpy(bad.base, ".a");
	assert_int_equal(maildir_name_format(&bad, buf, sizeof(buf)), -1);
	memset(bad.base, 'x', sizeof(bad.base)); /* not terminated */
	assert_int_equal(maildir_name_format(&bad, buf, sizeof(buf)), -1);
}

static void test_name_flag_roundtrip(void **state)
{
	char buf[256];
	/* Every combination of the five stored flags and a spread of keywords. */
	for (uint32_t flags = 0; flags < 32; flags++) {
		for (uint32_t kw = 0; kw < (1u << 26); kw = kw * 5 + 1) {
			struct maildir_name name = { .flags = flags, .keyword_bits = kw,
						     .has_info = true, .uid = flags + 1 };
			strcpy(name.base, "1.M1P1Q1R1.host");
			assert_true(maildir_name_format(&name, buf, sizeof(buf)) > 0);
			struct maildir_name back;
			assert_int_equal(maildir_name_parse(buf, &back), 0);
			assert_names_equal(&back, &name);
		}
	}
}

#define BASES_PER_THREAD 2000
#define BASE_THREADS 4

static void *base_thread(void *arg)
{
	char (*out)[128] = arg;
	for (int i = 0; i < BASES_PER_THREAD; i++)
		maildir_new_base(out[i], 128);
	return NULL;
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_new_base_unique(void **state)
{
	char (*bases)[128] = xcalloc(BASES_PER_THREAD * BASE_THREADS, 128);
	pthread_t th[BASE_THREADS];

	for (int t = 0; t < BASE_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, base_thread,
						 bases + t * BASES_PER_THREAD), 0);
	for (int t = 0; t < BASE_THREADS; t++)
		pthread_join(th[t], NULL);
	qsort(bases, BASES_PER_THREAD * BASE_THREADS, 128, cmp_base);
	for (int i = 0; i < BASES_PER_THREAD * BASE_THREADS; i++) {
		struct maildir_name name;
		if (i > 0 && strcmp(bases[i - 1], bases[i]) == 0)
			fail_msg("duplicate base %s", bases[i]);
		/* A base is a valid name and parses to itself. */
		assert_int_equal(maildir_name_parse(bases[i], &name), 0);
		assert_string_equal(name.base, bases[i]);
		assert_null(strpbrk(bases[i], "/:,"));
	}
	/* Shape: <sec>.M<usec>P<pid>Q<seq>R<rand>.<host> */
	long long sec;
	long usec;
	int pid;
	unsigned long long seq;
	char rnd[17], host[128];
	assert_int_equal(sscanf(bases[0], "%lld.M%6ldP%dQ%lluR%16[0-9a-f].%127s",
				&sec, &usec, &pid, &seq, rnd, host), 6);
	assert_int_equal(pid, getpid());
	assert_int_equal(strlen(rnd), 16);
	assert_true(sec > 1600000000LL);
	free(bases);

	/* Small buffers are truncated but terminated. */
	char small[8];
	memset(small, 'z', sizeof(small));
	maildir_new_base(small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_new_base_across_fork(void **state)
{
	int fds[2];
	char parent_base[128], child_base[128] = "";

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char b[128];
		maildir_new_base(b, sizeof(b));
		ssize_t w = write(fds[1], b, sizeof(b));
		_exit(w == (ssize_t)sizeof(b) ? 0 : 1);
	}
	maildir_new_base(parent_base, sizeof(parent_base));
	assert_int_equal(read(fds[0], child_base, sizeof(child_base)), (ssize_t)sizeof(child_base));
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	close(fds[1]);
	assert_string_not_equal(parent_base, child_base);
}

/* The host part escapes '/' and ':' (Maildir spec) and ','. The host name
 * is set in a private UTS namespace: as root directly, otherwise inside a
 * user namespace (which grants the right to name it). */
static void test_new_base_host_escape(void **state)
{
	int fds[2];
	char result[200] = "";

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char host[] = "mx/1:a,b.example";
		if (unshare(CLONE_NEWUTS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWUTS) < 0)
			_exit(77);
		if (sethostname(host, strlen(host)) < 0)
			_exit(78);
		char b[128];
		maildir_new_base(b, sizeof(b));
		ssize_t w = write(fds[1], b, sizeof(b));
		_exit(w == (ssize_t)sizeof(b) ? 0 : 1);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], result, 128);
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77 || WEXITSTATUS(status) == 78)
		fail_msg("cannot set a host name in a private UTS namespace (%s): neither "
			 "root nor user namespaces are available",
			 WEXITSTATUS(status) == 77 ? "unshare" : "sethostname");
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(n, 128);
	const char *host = strchr(strchr(result, 'R'), '.') + 1;
	assert_string_equal(host, "mx\\0571\\072a\\054b.example");
}

/* ---- CRLF size ---- */

static uint64_t crlf_reference(const char *s, size_t len)
{
	uint64_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ? 2 : 1;
	return n;
}

static void test_crlf_size_splits(void **state)
{
	static const struct { const char *s; uint64_t want; } cases[] = {
		{ "", 0 },
		{ "a", 1 },
		{ "\r\n", 2 },
		{ "\n", 2 },
		{ "\r", 1 },
		{ "\r\r\n", 3 },
		{ "\n\n", 4 },
		{ "\r\n\r\n", 4 },
		{ "a\r\nb\r\n\r\nbody\r\n", 14 },
		{ "a\nb\n\nbody\n", 14 },
		{ "a\rb\r\rbody\r", 10 },
		{ "Subject: x\r\n\nmixed\rcr\n\r\r\nend", 30 },
		{ "\n\r\n\r\r\n\n\r", 10 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s;
		size_t len = strlen(s);
		assert_true(crlf_reference(s, len) == cases[i].want);
		/* Whole, every single split point, and every pair of splits. */
		for (size_t a = 0; a <= len; a++) {
			for (size_t b = a; b <= len; b++) {
				bool cr = false;
				uint64_t total = maildir_crlf_size(s, a, &cr);
				total += maildir_crlf_size(s + a, b - a, &cr);
				total += maildir_crlf_size(s + b, len - b, &cr);
				if (total != cases[i].want)
					fail_msg("case %zu split %zu/%zu: %llu want %llu", i, a, b,
						 (unsigned long long)total,
						 (unsigned long long)cases[i].want);
			}
		}
		/* Byte by byte. */
		bool cr = false;
		uint64_t total = 0;
		for (size_t k = 0; k < len; k++)
			total += maildir_crlf_size(s + k, 1, &cr);
		assert_true(total == cases[i].want);
	}
	/* An empty chunk keeps the state. */
	bool cr = false;
	assert_true(maildir_crlf_size("\r", 1, &cr) == 1);
	assert_true(cr);
	assert_true(maildir_crlf_size("", 0, &cr) == 0);
	assert_true(cr);
	assert_true(maildir_crlf_size("\n", 1, &cr) == 1);
	assert_false(cr);
}

/* ---- tmp writer ---- */

static void test_tmp_write_finish(void **state)
{
	const char *dir = *state;
	struct maildir_tmp tmp;
	const char *msg = "Subject: hi\nX: y\r\n\r\nline1\nline2\r\n";

	assert_int_equal(maildir_create(dir), 0);
	assert_int_equal(maildir_tmp_create(dir, &tmp), 0);
	assert_true(tmp.fd >= 0);
	assert_true(fcntl(tmp.fd, F_GETFD) & FD_CLOEXEC);
	struct stat st;
	assert_int_equal(fstat(tmp.fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *want_path = xasprintf("%s/tmp/%s", dir, tmp.base);
	assert_string_equal(tmp.path, want_path);
	free(want_path);

	/* Write in chunks that split "\r\n" pairs. */
	size_t len = strlen(msg);
	for (size_t off = 0; off < len; off += 3) {
		size_t n = len - off < 3 ? len - off : 3;
		assert_int_equal(maildir_tmp_write(&tmp, msg + off, n), 0);
	}
	assert_true(tmp.size == len);
	assert_true(tmp.vsize == crlf_reference(msg, len));
	assert_int_equal(maildir_tmp_finish(&tmp), 0);
	assert_int_equal(tmp.fd, -1);
	char *content = read_file(tmp.path);
	assert_string_equal(content, msg);
	free(content);
	/* Finished twice or written after finish: EBADF, not a crash. */
	assert_int_equal(maildir_tmp_finish(&tmp), -EBADF);
	assert_int_equal(maildir_tmp_write(&tmp, "x", 1), -EBADF);

	char path[4096];
	strcpy(path, tmp.path);
	maildir_tmp_discard(&tmp);
	assert_false(exists(path));
	/* Discard twice is harmless. */
	maildir_tmp_discard(&tmp);
}

static void test_tmp_discard_open(void **state)
{
	const char *dir = *state;
	struct maildir_tmp tmp;

	assert_int_equal(maildir_create(dir), 0);
	assert_int_equal(maildir_tmp_create(dir, &tmp), 0);
	assert_int_equal(maildir_tmp_write(&tmp, "abc", 3), 0);
	char path[4096];
	strcpy(path, tmp.path);
	assert_true(exists(path));
	maildir_tmp_discard(&tmp);
	assert_int_equal(tmp.fd, -1);
	assert_false(exists(path));
}

/* For unpriv_run(): maildir_tmp_create()'s result on the Maildir arg and
 * whether a file was left behind. */
static char *tmp_create_result(void *dir)
{
	struct maildir_tmp tmp;
	int ret = maildir_tmp_create(dir, &tmp);
	char *tmpdir = mkpath(dir, "tmp");
	unsigned n = 0;
	DIR *d = opendir(tmpdir);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	free(tmpdir);
	maildir_tmp_discard(&tmp);
	char buf[64];
	snprintf(buf, sizeof(buf), "%d %s", ret, n == 0 ? "no file" : "a file");
	return strdup(buf);
}

static void test_tmp_errors(void **state)
{
	const char *dir = *state;
	struct maildir_tmp tmp;

	/* No tmp/ directory. */
	assert_int_equal(maildir_tmp_create(dir, &tmp), -ENOENT);
	assert_int_equal(tmp.fd, -1);
	maildir_tmp_discard(&tmp);

	/* Path too long for the struct. */
	char *longdir = xmalloc(5000);
	memset(longdir, 'a', 4999);
	longdir[4999] = '\0';
	assert_int_equal(maildir_tmp_create(longdir, &tmp), -ENAMETOOLONG);
	free(longdir);

	/* Disk full comes through as -ENOSPC: the fd is /dev/full. */
	assert_int_equal(maildir_create(dir), 0);
	assert_int_equal(maildir_tmp_create(dir, &tmp), 0);
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(full >= 0);
	assert_int_equal(dup2(full, tmp.fd), tmp.fd);
	close(full);
	assert_int_equal(maildir_tmp_write(&tmp, "data\n", 5), -ENOSPC);
	assert_true(tmp.size == 0);
	/* fsync of a character device fails too: finish reports it. */
	assert_true(maildir_tmp_finish(&tmp) < 0);
	assert_int_equal(tmp.fd, -1);
	char full_path[4096];
	strcpy(full_path, tmp.path);
	assert_true(exists(full_path));
	maildir_tmp_discard(&tmp);
	assert_false(exists(full_path));

	/* A closed descriptor: EBADF. */
	assert_int_equal(maildir_tmp_create(dir, &tmp), 0);
	close(tmp.fd);
	assert_int_equal(maildir_tmp_write(&tmp, "x", 1), -EBADF);
	assert_int_equal(maildir_tmp_finish(&tmp), -EBADF);
	maildir_tmp_discard(&tmp);

	/* Read-only tmp/: EACCES, as an unprivileged user (root ignores the
	 * mode). */
	char *tmpdir = mkpath(dir, "tmp");
	assert_int_equal(chmod(tmpdir, 0500), 0);
	assert_int_equal(unpriv_give(dir), 0);
	char *got = unpriv_run(tmp_create_result, (void *)dir);
	assert_non_null(got);
	assert_string_equal(got, "-13 no file");
	free(got);
	chmod(tmpdir, 0700);
	free(tmpdir);
}


static void on_alarm(int sig)
{
}

struct slow_reader {
	int fd;
	uint64_t total;
	uint64_t sum;
};

static void *slow_reader_thread(void *arg)
{
	struct slow_reader *r = arg;
	unsigned char buf[1000];
	ssize_t n;
	while ((n = read(r->fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			r->sum = r->sum * 31 + buf[i];
		r->total += (uint64_t)n;
		if (r->total % 16000 < 1000)
			usleep(200);
	}
	return NULL;
}

/* Writes into a pipe interrupted by a signal without SA_RESTART return
 * EINTR or short counts; the writer must retry and lose nothing. */
static void test_tmp_write_eintr_short(void **state)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);

	struct slow_reader r = { .fd = fds[0] };
	pthread_t th;
	sigset_t block, prev;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, &prev);
	assert_int_equal(pthread_create(&th, NULL, slow_reader_thread, &r), 0);
	pthread_sigmask(SIG_SETMASK, &prev, NULL);

	struct itimerval it = { .it_interval = { 0, 500 }, .it_value = { 0, 500 } };
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);

	struct maildir_tmp tmp = { .fd = fds[1] };
	size_t chunk = 256 * 1024, rounds = 16;
	unsigned char *data = xmalloc(chunk);
	uint64_t sum = 0;
	for (size_t i = 0; i < chunk; i++)
		data[i] = (unsigned char)((i * 7) % 251 == 0 ? '\n' : 'a' + i % 26);
	for (size_t k = 0; k < rounds; k++) {
		assert_int_equal(maildir_tmp_write(&tmp, data, chunk), 0);
		for (size_t i = 0; i < chunk; i++)
			sum = sum * 31 + data[i];
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	close(fds[1]);
	pthread_join(th, NULL);
	close(fds[0]);
	sigaction(SIGALRM, &old, NULL);

	assert_true(tmp.size == chunk * rounds);
	assert_true(r.total == chunk * rounds);
	assert_true(r.sum == sum);
	assert_true(tmp.vsize == rounds * crlf_reference((const char *)data, chunk));
	free(data);
}

/* ---- directories ---- */

static void test_create_idempotent(void **state)
{
	const char *dir = *state;
	char *box = mkpath(dir, ".Work");

	for (int round = 0; round < 2; round++) {
		assert_int_equal(maildir_create(box), 0);
		static const char *const subs[] = { "", "/cur", "/new", "/tmp" };
		for (size_t i = 0; i < 4; i++) {
			char *p = xasprintf("%s%s", box, subs[i]);
			struct stat st;
			assert_int_equal(stat(p, &st), 0);
			assert_true(S_ISDIR(st.st_mode));
			assert_int_equal(st.st_mode & 0777, 0700);
			free(p);
		}
	}
	/* Half-made mailbox is completed. */
	char *newdir = mkpath(box, "new");
	assert_int_equal(rmdir(newdir), 0);
	assert_int_equal(maildir_create(box), 0);
	assert_true(exists(newdir));
	free(newdir);

	/* A file in the way. */
	char *file = mkpath(dir, ".File");
	write_file(file, "x");
	assert_int_equal(maildir_create(file), -ENOTDIR);
	free(file);
	char *cur = mkpath(box, "cur");
	assert_int_equal(rmdir(cur), 0);
	write_file(cur, "x");
	assert_int_equal(maildir_create(box), -ENOTDIR);
	free(cur);

	/* Missing parent. */
	char *deep = mkpath(dir, "no/such");
	assert_int_equal(maildir_create(deep), -ENOENT);
	free(deep);
	/* A trailing slash still works (parent is found). */
	char *slash = xasprintf("%s/.Slash/", dir);
	assert_int_equal(maildir_create(slash), 0);
	free(slash);
	free(box);
}

static void test_fsync_dir_rename(void **state)
{
	const char *dir = *state;

	assert_int_equal(maildir_fsync_dir(dir), 0);
	char *missing = mkpath(dir, "missing");
	assert_int_equal(maildir_fsync_dir(missing), -ENOENT);
	char *file = mkpath(dir, "file");
	write_file(file, "x");
	assert_int_equal(maildir_fsync_dir(file), -ENOTDIR);

	char *moved = mkpath(dir, "moved");
	assert_int_equal(maildir_rename(file, moved), 0);
	assert_false(exists(file));
	assert_true(exists(moved));
	assert_int_equal(maildir_rename(file, moved), -ENOENT);
	free(missing);
	free(file);
	free(moved);
}

static void test_remove(void **state)
{
	const char *dir = *state;
	char *box = mkpath(dir, ".Box");
	char *p;

	assert_int_equal(maildir_create(box), 0);
	p = xasprintf("%s/cur/1.M1P1.h:2,S", box); write_file(p, "a"); free(p);
	p = xasprintf("%s/new/2.M1P1.h", box); write_file(p, "b"); free(p);
	p = xasprintf("%s/tmp/3.M1P1.h", box); write_file(p, "c"); free(p);
	p = xasprintf("%s/dovecot-uidlist", box); write_file(p, "3 V1 N1\n"); free(p);
	p = xasprintf("%s/maildirfolder", box); write_file(p, ""); free(p);
	/* A symlink inside points outside: the link goes, the target stays. */
	char *outside = mkpath(dir, "outside");
	write_file(outside, "keep me");
	p = xasprintf("%s/cur/link", box);
	assert_int_equal(symlink(outside, p), 0);
	free(p);

	assert_int_equal(maildir_remove(box), 0);
	assert_false(exists(box));
	assert_true(exists(outside));
	assert_int_equal(maildir_remove(box), -ENOENT);
	free(box);

	/* A child directory that is not cur/new/tmp: refuse, touch nothing. */
	box = mkpath(dir, ".Refuse");
	assert_int_equal(maildir_create(box), 0);
	char *msg = xasprintf("%s/cur/1.M1P1.h:2,S", box);
	write_file(msg, "a");
	char *child = mkpath(box, ".Sub");
	assert_int_equal(maildir_create(child), 0);
	assert_int_equal(maildir_remove(box), -ENOTEMPTY);
	assert_true(exists(msg));
	assert_true(exists(child));
	assert_int_equal(maildir_remove(child), 0);
	/* A directory inside cur/: refuse too. */
	char *deep = xasprintf("%s/cur/dir", box);
	assert_int_equal(mkdir(deep, 0700), 0);
	assert_int_equal(maildir_remove(box), -ENOTEMPTY);
	assert_true(exists(msg));
	assert_int_equal(rmdir(deep), 0);
	assert_int_equal(maildir_remove(box), 0);
	assert_false(exists(box));
	free(deep);
	free(child);
	free(msg);
	free(box);

	/* The mailbox path itself a symlink: never followed. */
	char *real = mkpath(dir, ".Real");
	assert_int_equal(maildir_create(real), 0);
	char *link = mkpath(dir, ".Link");
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(maildir_remove(link), -ENOTDIR);
	assert_true(exists(real));
	char *realcur = mkpath(real, "cur");
	assert_true(exists(realcur));
	/* cur/ itself a symlink to a directory elsewhere: refused. */
	char *box2 = mkpath(dir, ".Box2");
	assert_int_equal(maildir_create(box2), 0);
	char *cur2 = mkpath(box2, "cur");
	assert_int_equal(rmdir(cur2), 0);
	assert_int_equal(symlink(realcur, cur2), 0);
	char *victim = mkpath(realcur, "1.M1P1.h");
	write_file(victim, "x");
	/* The link is unlinked, the directory it points to is untouched. */
	assert_int_equal(maildir_remove(box2), 0);
	assert_false(exists(box2));
	assert_true(exists(victim));
	free(victim);
	free(cur2);
	free(box2);
	free(realcur);
	free(link);
	free(real);
	/* A regular file instead of a directory. */
	assert_int_equal(maildir_remove(outside), -ENOTDIR);
	free(outside);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct maildir_entry *)a)->filename,
		      ((const struct maildir_entry *)b)->filename);
}

static void test_scan(void **state)
{
	const char *dir = *state;
	char *p;

	struct maildir_entry *entries;
	size_t count;
	assert_int_equal(maildir_scan(dir, &entries, &count), -ENOENT);
	assert_null(entries);
	assert_int_equal(count, 0);

	assert_int_equal(maildir_create(dir), 0);
	assert_int_equal(maildir_scan(dir, &entries, &count), 0);
	assert_int_equal(count, 0);
	maildir_scan_free(entries, count);

	p = xasprintf("%s/cur/1.M1P1Q1R1.h,U=5,S=3:2,FS", dir); write_file(p, "abc");
	struct timespec times[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
	free(p);
	p = xasprintf("%s/new/1700000000.M1P2.host,S=123,W=130", dir); write_file(p, "hello"); free(p);
	p = xasprintf("%s/cur/.hidden", dir); write_file(p, "x"); free(p);
	p = xasprintf("%s/cur/:2,S", dir); write_file(p, "x"); free(p);
	p = xasprintf("%s/cur/adir", dir); assert_int_equal(mkdir(p, 0700), 0); free(p);
	p = xasprintf("%s/new/dangling", dir); assert_int_equal(symlink("/nonexistent/x", p), 0); free(p);
	p = xasprintf("%s/new/9.M1P1.link", dir); assert_int_equal(symlink("/etc/passwd", p), 0); free(p);
	p = xasprintf("%s/tmp/inflight", dir); write_file(p, "x"); free(p);

	assert_int_equal(maildir_scan(dir, &entries, &count), 0);
	assert_int_equal(count, 2);
	qsort(entries, count, sizeof(*entries), cmp_entry);
	assert_string_equal(entries[0].filename, "1.M1P1Q1R1.h,U=5,S=3:2,FS");
	assert_false(entries[0].in_new);
	assert_string_equal(entries[0].name.base, "1.M1P1Q1R1.h");
	assert_int_equal(entries[0].name.uid, 5);
	assert_int_equal(entries[0].name.flags, STORE_FLAG_FLAGGED | STORE_FLAG_SEEN);
	assert_int_equal(entries[0].mtime, 1600000000);
	assert_int_equal(entries[0].file_size, 3);
	assert_string_equal(entries[1].filename, "1700000000.M1P2.host,S=123,W=130");
	assert_true(entries[1].in_new);
	assert_false(entries[1].name.has_info);
	assert_int_equal(entries[1].file_size, 5);
	maildir_scan_free(entries, count);

	/* new/ missing. */
	char *box = mkpath(dir, ".Half");
	assert_int_equal(maildir_create(box), 0);
	p = mkpath(box, "new");
	assert_int_equal(rmdir(p), 0);
	free(p);
	assert_int_equal(maildir_scan(box, &entries, &count), -ENOENT);
	assert_null(entries);
	free(box);
}

struct renamer {
	const char *dir;
	volatile bool stop;
	unsigned moves;
};

static void *renamer_thread(void *arg)
{
	struct renamer *r = arg;
	char a[4096], b[4096];
	unsigned i = 0;
	while (!r->stop) {
		snprintf(a, sizeof(a), "%s/new/%u.M1P1.h", r->dir, i % 50);
		snprintf(b, sizeof(b), "%s/cur/%u.M1P1.h:2,S", r->dir, i % 50);
		if (rename(a, b) == 0)
			rename(b, a);
		i++;
		r->moves++;
	}
	return NULL;
}

/* Files disappearing during a scan never make it fail. */
static void test_scan_races(void **state)
{
	const char *dir = *state;
	assert_int_equal(maildir_create(dir), 0);
	for (int i = 0; i < 50; i++) {
		char *p = xasprintf("%s/new/%d.M1P1.h", dir, i);
		write_file(p, "x");
		free(p);
	}
	struct renamer r = { .dir = dir };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, renamer_thread, &r), 0);
	for (int k = 0; k < 300; k++) {
		struct maildir_entry *entries;
		size_t count;
		assert_int_equal(maildir_scan(dir, &entries, &count), 0);
		assert_true(count <= 100);
		for (size_t i = 0; i < count; i++)
			assert_true(entries[i].file_size == 1);
		maildir_scan_free(entries, count);
	}
	r.stop = true;
	pthread_join(th, NULL);
	assert_true(r.moves > 0);
}

static void test_dir_stamp(void **state)
{
	const char *dir = *state;
	int64_t cur_ns, new_ns;

	assert_int_equal(maildir_dir_stamp(dir, &cur_ns, &new_ns), -ENOENT);
	assert_int_equal(maildir_create(dir), 0);
	char *cur = mkpath(dir, "cur"), *newd = mkpath(dir, "new");
	struct timespec t1[2] = { { 1700000000, 123456789 }, { 1700000000, 123456789 } };
	struct timespec t2[2] = { { 1700000001, 5 }, { 1700000001, 5 } };
	assert_int_equal(utimensat(AT_FDCWD, cur, t1, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, newd, t2, 0), 0);
	assert_int_equal(maildir_dir_stamp(dir, &cur_ns, &new_ns), 0);
	assert_true(cur_ns == 1700000000123456789LL);
	assert_true(new_ns == 1700000001000000005LL);
	/* Adding a file changes the stamp. */
	char *p = xasprintf("%s/1.M1P1.h", newd);
	write_file(p, "x");
	int64_t cur2, new2;
	assert_int_equal(maildir_dir_stamp(dir, &cur2, &new2), 0);
	assert_true(cur2 == cur_ns);
	assert_true(new2 != new_ns);
	free(p);
	free(cur);
	free(newd);
}

static void test_find_base(void **state)
{
	const char *dir = *state;
	char *path;

	assert_int_equal(maildir_find_base(dir, "x", &path), -ENOENT);
	assert_null(path);
	assert_int_equal(maildir_create(dir), 0);
	char *p1 = xasprintf("%s/cur/1.M1P1.h,U=3:2,S", dir);
	char *p2 = xasprintf("%s/new/2.M1P1.h", dir);
	char *p3 = xasprintf("%s/cur/1.M1P1.hx:2,S", dir);
	write_file(p1, "a");
	write_file(p2, "b");
	write_file(p3, "c");
	assert_int_equal(maildir_find_base(dir, "1.M1P1.h", &path), 0);
	assert_string_equal(path, p1);
	free(path);
	assert_int_equal(maildir_find_base(dir, "2.M1P1.h", &path), 0);
	assert_string_equal(path, p2);
	free(path);
	/* A prefix is not a match. */
	assert_int_equal(maildir_find_base(dir, "1.M1P1", &path), -ENOENT);
	assert_null(path);
	/* cur/ wins over new/ when both hold the base. */
	char *p4 = xasprintf("%s/new/1.M1P1.h", dir);
	write_file(p4, "d");
	assert_int_equal(maildir_find_base(dir, "1.M1P1.h", &path), 0);
	assert_string_equal(path, p1);
	free(path);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
}

static void test_tmp_cleanup(void **state)
{
	const char *dir = *state;

	maildir_tmp_cleanup(dir, 36 * 3600); /* no tmp/: nothing happens */
	assert_int_equal(maildir_create(dir), 0);
	char *old = xasprintf("%s/tmp/old", dir);
	char *fresh = xasprintf("%s/tmp/fresh", dir);
	char *dot = xasprintf("%s/tmp/.old", dir);
	char *sub = xasprintf("%s/tmp/olddir", dir);
	write_file(old, "x");
	write_file(fresh, "x");
	write_file(dot, "x");
	assert_int_equal(mkdir(sub, 0700), 0);
	time_t now = time(NULL);
	struct timespec past[2] = { { now - 40 * 3600, 0 }, { now - 40 * 3600, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, old, past, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, dot, past, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, sub, past, 0), 0);
	maildir_tmp_cleanup(dir, 36 * 3600);
	assert_false(exists(old));
	assert_true(exists(fresh));
	assert_true(exists(dot));
	assert_true(exists(sub));
	/* Age 0 removes everything not newer than now. */
	struct timespec sec_ago[2] = { { now - 2, 0 }, { now - 2, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, fresh, sec_ago, 0), 0);
	maildir_tmp_cleanup(dir, 0);
	assert_false(exists(fresh));
	free(old);
	free(fresh);
	free(dot);
	free(sub);
}

/* A crash in maildir_keywords_write leaves loft-keywords.tmp.<base> in the
 * user's root: the cleanup removes it once stale, and nothing else there. */
static void test_keywords_tmp_cleanup(void **state)
{
	const char *dir = *state;
	assert_int_equal(maildir_create(dir), 0);
	char *names[] = { "$Work" };
	assert_int_equal(maildir_keywords_write(dir, names, 1), 0);
	char *stale = xasprintf("%s/loft-keywords.tmp.1.M2P3.crashed", dir);
	char *fresh = xasprintf("%s/loft-keywords.tmp.9.M9P9.writing", dir);
	char *other = xasprintf("%s/loft-uidvalidity", dir);
	char *kw = xasprintf("%s/loft-keywords", dir);
	write_file(stale, "0 $Wo");
	write_file(fresh, "0 $Work\n");
	write_file(other, "1\n");
	time_t now = time(NULL);
	struct timespec past[2] = { { now - 40 * 3600, 0 }, { now - 40 * 3600, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, stale, past, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, other, past, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, kw, past, 0), 0);
	maildir_tmp_cleanup(dir, 36 * 3600);
	assert_false(exists(stale));
	assert_true(exists(fresh));   /* another process may be writing it */
	assert_true(exists(other));
	assert_true(exists(kw));
	free(stale);
	free(fresh);
	free(other);
	free(kw);
}

/* ---- keyword table ---- */

static void free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

static void test_keywords_roundtrip(void **state)
{
	const char *dir = *state;
	char **names;
	size_t count;

	/* Missing file: no entries. */
	assert_int_equal(maildir_keywords_read(dir, &names, &count), 0);
	assert_null(names);
	assert_int_equal(count, 0);

	char *in[] = { "$Forwarded", NULL, "Work", "$Junk", NULL };
	assert_int_equal(maildir_keywords_write(dir, in, 5), 0);
	char *file = mkpath(dir, "loft-keywords");
	char *content = read_file(file);
	assert_string_equal(content, "0 $Forwarded\n2 Work\n3 $Junk\n");
	free(content);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(maildir_keywords_read(dir, &names, &count), 0);
	assert_int_equal(count, 4);
	assert_string_equal(names[0], "$Forwarded");
	assert_null(names[1]);
	assert_string_equal(names[2], "Work");
	assert_string_equal(names[3], "$Junk");
	free_names(names, count);

	/* Rewrite replaces; no temporary file is left behind. */
	char *in2[] = { "a" };
	assert_int_equal(maildir_keywords_write(dir, in2, 1), 0);
	assert_int_equal(maildir_keywords_read(dir, &names, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "a");
	free_names(names, count);
	int files = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			files++;
	}
	closedir(d);
	assert_int_equal(files, 1);

	/* Empty table. */
	assert_int_equal(maildir_keywords_write(dir, NULL, 0), 0);
	assert_int_equal(maildir_keywords_read(dir, &names, &count), 0);
	assert_int_equal(count, 0);
	free_names(names, count);
	free(file);
}

static void test_keywords_junk(void **state)
{
	const char *dir = *state;
	char *file = mkpath(dir, "loft-keywords");
	write_file(file,
		   "1 One\n"
		   "garbage\n"
		   "\n"
		   "x Two\n"
		   "2 \n"
		   "3 with space\n"
		   "-1 neg\n"
		   "99999999999 huge\n"
		   "65536 over\n"
		   "4 Four\r\n"
		   " 5 lead\n"
		   "0 Zero\n"
		   "1 OneAgain\n"
		   "6 \x01\n"
		   "7 Last");
	char **names;
	size_t count;
	assert_int_equal(maildir_keywords_read(dir, &names, &count), 0);
	assert_int_equal(count, 8);
	assert_string_equal(names[0], "Zero");
	assert_string_equal(names[1], "OneAgain");
	for (size_t i = 2; i < 7; i++)
		assert_null(names[i]);
	assert_string_equal(names[7], "Last");
	free_names(names, count);

	/* A file with a NUL inside a line. */
	FILE *f = fopen(file, "w");
	fwrite("0 a\0b\n1 ok\n", 1, 11, f);
	fclose(f);
	assert_int_equal(maildir_keywords_read(dir, &names, &count), 0);
	assert_int_equal(count, 2);
	assert_null(names[0]);
	assert_string_equal(names[1], "ok");
	free_names(names, count);

	/* Unreadable: a directory in its place. */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(mkdir(file, 0700), 0);
	int ret = maildir_keywords_read(dir, &names, &count);
	assert_int_equal(ret, -EIO);
	assert_null(names);
	free(file);
}

static void test_keywords_errors(void **state)
{
	const char *dir = *state;
	char *bad_space[] = { "a b" };
	char *bad_empty[] = { "" };
	char *bad_nl[] = { "a\nb" };
	char *bad_ctl[] = { "a\x7f" };
	char *ok[] = { "ok" };

	assert_int_equal(maildir_keywords_write(dir, bad_space, 1), -EINVAL);
	assert_int_equal(maildir_keywords_write(dir, bad_empty, 1), -EINVAL);
	assert_int_equal(maildir_keywords_write(dir, bad_nl, 1), -EINVAL);
	assert_int_equal(maildir_keywords_write(dir, bad_ctl, 1), -EINVAL);
	assert_int_equal(maildir_keywords_write(dir, ok, 65537), -EINVAL);
	char *missing = mkpath(dir, "missing");
	assert_int_equal(maildir_keywords_write(missing, ok, 1), -ENOENT);
	free(missing);
	/* rename over a directory fails; the temporary file is cleaned up. */
	char *file = mkpath(dir, "loft-keywords");
	assert_int_equal(mkdir(file, 0700), 0);
	char *inner = mkpath(file, "x");
	write_file(inner, "x");
	assert_true(maildir_keywords_write(dir, ok, 1) < 0);
	int files = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			files++;
	}
	closedir(d);
	assert_int_equal(files, 1);
	free(inner);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_parse_table),
		cmocka_unit_test(test_name_base_length),
		cmocka_unit_test(test_name_format),
		cmocka_unit_test(test_name_flag_roundtrip),
		cmocka_unit_test(test_new_base_unique),
		cmocka_unit_test(test_new_base_across_fork),
		cmocka_unit_test(test_new_base_host_escape),
		cmocka_unit_test(test_crlf_size_splits),
		cmocka_unit_test_setup_teardown(test_tmp_write_finish, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_tmp_discard_open, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_tmp_errors, setup_dir, teardown_dir),
		cmocka_unit_test(test_tmp_write_eintr_short),
		cmocka_unit_test_setup_teardown(test_create_idempotent, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_fsync_dir_rename, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_remove, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_scan, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_scan_races, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_dir_stamp, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_find_base, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_keywords_tmp_cleanup, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_tmp_cleanup, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_keywords_roundtrip, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_keywords_junk, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_keywords_errors, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
