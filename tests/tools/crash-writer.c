/* Crash-harness workload for tests/e2e/test_storage_crash.py. It appends
 * messages from several threads (so group commits happen), changes flags,
 * expunges and moves messages to the mailbox "Archive", and logs every
 * intent before and every acknowledgement after the store call returns, each
 * line with one write(2) to an O_APPEND file, until it is killed. The test
 * reads the store back with store-ctl.
 *
 * Log lines (tab separated):
 *   V uidvalidity                      store opened (each run)
 *   B msgid sha256                     append about to start
 *   A uid msgid sha256                 append acknowledged (commit returned)
 *   f uid flags keywords               flag SET about to start
 *   F uid flags keywords               flag SET acknowledged
 *   x uid                              expunge about to start
 *   X uid                              expunge acknowledged
 *   m uid                              move to Archive about to start
 *   M uid archive_uid                  move acknowledged
 * With -M (mailbox mode) a single thread instead creates, fills, renames
 * and deletes mailboxes:
 *   c name / C name                    create started / acknowledged
 *   a msgid sha256 mailbox             append to mailbox started
 *   P msgid mailbox                    append acknowledged
 *   r old new / R old new              rename started / acknowledged
 *   d name / D name                    delete started / acknowledged
 * flags are letters S F A D (seen flagged answered draft), keywords are comma
 * separated ("-" for none). "ready" goes to stdout once the store is open and
 * the threads run. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/xmem.h"
#include "storage/store.h"

#define CW_MAX_POOL 200000
#define CW_ARCHIVE "Archive"

struct cw {
	struct store *store;
	struct store_user *user;
	const char *mailbox;
	int log_fd;
	unsigned seed;
	atomic_bool stop;
	pthread_mutex_t mu;             /* guards pool */
	uint32_t *pool;                 /* acknowledged, not expunged UIDs */
	size_t n_pool;
	int failure;                    /* first unexpected store error */
};

struct cw_thread {
	struct cw *cw;
	unsigned id;
	unsigned seed;
};

static void cw_log(struct cw *cw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cw_log(struct cw *cw, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		abort();
	/* One write per line: with O_APPEND the line is never interleaved or
	 * torn by another thread, and nothing sits in a stdio buffer. */
	if (write(cw->log_fd, line, (size_t)n) != n)
		abort();
}

static void cw_fail(struct cw *cw, const char *what, int err)
{
	fprintf(stderr, "crash-writer: %s: %s\n", what, store_strerror(err));
	pthread_mutex_lock(&cw->mu);
	if (cw->failure == 0)
		cw->failure = err;
	cw->stop = true;
	pthread_mutex_unlock(&cw->mu);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;
	EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void flags_letters(uint32_t flags, char out[8])
{
	size_t n = 0;
	if (flags & STORE_FLAG_SEEN)
		out[n++] = 'S';
	if (flags & STORE_FLAG_FLAGGED)
		out[n++] = 'F';
	if (flags & STORE_FLAG_ANSWERED)
		out[n++] = 'A';
	if (flags & STORE_FLAG_DRAFT)
		out[n++] = 'D';
	out[n] = '\0';
}

static void pool_add(struct cw *cw, uint32_t uid)
{
	pthread_mutex_lock(&cw->mu);
	if (cw->n_pool < CW_MAX_POOL)
		cw->pool[cw->n_pool++] = uid;
	pthread_mutex_unlock(&cw->mu);
}

/* A random pooled UID (0 if none); with take, it leaves the pool. */
static uint32_t pool_pick(struct cw *cw, unsigned *seed, bool take)
{
	uint32_t uid = 0;
	pthread_mutex_lock(&cw->mu);
	if (cw->n_pool > 0) {
		size_t i = (size_t)rand_r(seed) % cw->n_pool;
		uid = cw->pool[i];
		if (take)
			cw->pool[i] = cw->pool[--cw->n_pool];
	}
	pthread_mutex_unlock(&cw->mu);
	return uid;
}

/* Message text with a unique Message-ID, random size, written in chunks. */
static char *cw_message(unsigned id, unsigned long long serial, unsigned *seed,
			char *msgid, size_t msgid_size, size_t *len_r)
{
	size_t body = 200 + (size_t)rand_r(seed) % 20000;
	char *buf = xmalloc(body + 512);
	snprintf(msgid, msgid_size, "%ld.%d.%u.%llu@crash", (long)time(NULL), (int)getpid(),
		 id, serial);
	size_t len = (size_t)snprintf(buf, 512, "From: crash@example.org\r\nSubject: %llu\r\n"
				      "Message-ID: <%s>\r\n\r\n", serial, msgid);
	while (len < body) {
		int n = snprintf(buf + len, body + 512 - len, "%08x%08x crash body line\r\n",
				 rand_r(seed), rand_r(seed));
		len += (size_t)n;
	}
	*len_r = len;
	return buf;
}

static void *cw_append_main(void *arg)
{
	struct cw_thread *t = arg;
	struct cw *cw = t->cw;
	unsigned long long serial = 0;

	while (!cw->stop) {
		char msgid[128], sha[65];
		size_t len;
		char *text = cw_message(t->id, serial++, &t->seed, msgid, sizeof(msgid), &len);
		sha256_hex(text, len, sha);
		cw_log(cw, "B\t%s\t%s\n", msgid, sha);
		struct store_append *app = NULL;
		int ret = store_append_begin(cw->user, cw->mailbox, &app);
		for (size_t off = 0; ret == STORE_OK && off < len; off += 4096) {
			size_t chunk = len - off < 4096 ? len - off : 4096;
			ret = store_append_write(app, text + off, chunk);
		}
		uint32_t uid = 0;
		if (ret == STORE_OK) {
			struct store_append_meta meta = { 0 };
			ret = store_append_commit(&app, &meta, &uid, NULL);
		} else if (app != NULL) {
			store_append_abort(&app);
		}
		free(text);
		if (ret != STORE_OK) {
			cw_fail(cw, "append", ret);
			break;
		}
		cw_log(cw, "A\t%u\t%s\t%s\n", uid, msgid, sha);
		pool_add(cw, uid);
	}
	return NULL;
}

static void *cw_flags_main(void *arg)
{
	struct cw_thread *t = arg;
	struct cw *cw = t->cw;
	static const char *const all_kw[] = { "$a", "$b", "Work" };
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(cw->user, cw->mailbox, false, &mbox);
	if (ret != STORE_OK) {
		cw_fail(cw, "open view", ret);
		return NULL;
	}
	while (!cw->stop) {
		uint32_t uid = pool_pick(cw, &t->seed, false);
		if (uid == 0) {
			usleep(2000);
			continue;
		}
		uint32_t flags = (uint32_t)rand_r(&t->seed) &
				 (STORE_FLAG_SEEN | STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED |
				  STORE_FLAG_DRAFT);
		const char *kw[3];
		size_t n_kw = 0;
		char kw_text[32] = "";
		unsigned bits = (unsigned)rand_r(&t->seed);
		for (size_t i = 0; i < 3; i++) {
			if (bits & (1u << i)) {
				kw[n_kw++] = all_kw[i];
				if (kw_text[0] != '\0')
					strcat(kw_text, ",");
				strcat(kw_text, all_kw[i]);
			}
		}
		if (n_kw == 0)
			strcpy(kw_text, "-");
		char letters[8];
		flags_letters(flags, letters);
		cw_log(cw, "f\t%u\t%s\t%s\n", uid, letters, kw_text);
		ret = store_flags_update(mbox, &uid, 1, STORE_FLAGS_SET, flags, kw, n_kw, 0, NULL);
		if (ret != STORE_OK) {
			cw_fail(cw, "flags", ret);
			break;
		}
		cw_log(cw, "F\t%u\t%s\t%s\n", uid, letters, kw_text);
		usleep(500);
	}
	store_mailbox_close(&mbox);
	return NULL;
}

static void *cw_expunge_main(void *arg)
{
	struct cw_thread *t = arg;
	struct cw *cw = t->cw;
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(cw->user, cw->mailbox, false, &mbox);
	if (ret != STORE_OK) {
		cw_fail(cw, "open view", ret);
		return NULL;
	}
	while (!cw->stop) {
		usleep(5000);
		uint32_t uid = pool_pick(cw, &t->seed, true);
		if (uid == 0)
			continue;
		cw_log(cw, "x\t%u\n", uid);
		ret = store_expunge(mbox, &uid, 1, false, NULL);
		if (ret != STORE_OK) {
			cw_fail(cw, "expunge", ret);
			break;
		}
		cw_log(cw, "X\t%u\n", uid);
	}
	store_mailbox_close(&mbox);
	return NULL;
}

/* Moves pooled messages to the archive mailbox (copy + expunge in one
 * commit): a crash must never lose the message in between. */
static void *cw_move_main(void *arg)
{
	struct cw_thread *t = arg;
	struct cw *cw = t->cw;
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(cw->user, cw->mailbox, false, &mbox);
	if (ret != STORE_OK) {
		cw_fail(cw, "open view", ret);
		return NULL;
	}
	while (!cw->stop) {
		usleep(8000);
		uint32_t uid = pool_pick(cw, &t->seed, true);
		if (uid == 0)
			continue;
		cw_log(cw, "m\t%u\n", uid);
		struct store_uid_list src = { 0 }, dst = { 0 };
		ret = store_copy(mbox, &uid, 1, CW_ARCHIVE, true, &src, &dst, NULL);
		if (ret != STORE_OK || dst.count != 1 || src.count != 1 || src.uids[0] != uid) {
			cw_fail(cw, "move", ret != STORE_OK ? ret : STORE_ENOTFOUND);
			store_uid_list_free(&src);
			store_uid_list_free(&dst);
			break;
		}
		cw_log(cw, "M\t%u\t%u\n", uid, dst.uids[0]);
		store_uid_list_free(&src);
		store_uid_list_free(&dst);
	}
	store_mailbox_close(&mbox);
	return NULL;
}

static int cw_pool_cb(const struct store_msg *msg, void *ctx)
{
	pool_add(ctx, msg->uid);
	return 0;
}

/* ---- mailbox mode (-M) ---- */

struct cw_names { char **v; size_t n, cap; };

static void names_add(struct cw_names *l, const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(char *));
	}
	l->v[l->n++] = xstrdup(name);
}

static void names_del(struct cw_names *l, size_t i)
{
	free(l->v[i]);
	l->v[i] = l->v[--l->n];
}

/* Create, fill, rename and delete mailboxes, one operation at a time. */
static void *cw_mailbox_main(void *arg)
{
	struct cw_thread *t = arg;
	struct cw *cw = t->cw;
	struct cw_names live = { 0 };
	struct store_mailbox_info *list = NULL;
	size_t count = 0;
	int ret = store_mailbox_list(cw->user, &list, &count);
	if (ret != STORE_OK) {
		cw_fail(cw, "list", ret);
		return NULL;
	}
	for (size_t i = 0; i < count; i++)
		if (strcmp(list[i].name, "INBOX") != 0 && strcmp(list[i].name, "T") != 0)
			names_add(&live, list[i].name);
	store_mailbox_list_free(list, count);

	for (unsigned long long n = 0; !cw->stop; n++) {
		char name[64];
		snprintf(name, sizeof(name), "F%d_%llu", (int)getpid(), n);
		cw_log(cw, "c\t%s\n", name);
		ret = store_mailbox_create(cw->user, name, 0);
		if (ret != STORE_OK) {
			cw_fail(cw, "create", ret);
			break;
		}
		cw_log(cw, "C\t%s\n", name);
		names_add(&live, name);

		/* A message into a random live mailbox. */
		const char *target = live.v[(size_t)rand_r(&t->seed) % live.n];
		char msgid[128], sha[65];
		size_t len;
		char *text = cw_message(t->id, n, &t->seed, msgid, sizeof(msgid), &len);
		sha256_hex(text, len, sha);
		cw_log(cw, "a\t%s\t%s\t%s\n", msgid, sha, target);
		struct store_append *app = NULL;
		ret = store_append_begin(cw->user, target, &app);
		if (ret == STORE_OK)
			ret = store_append_write(app, text, len);
		if (ret == STORE_OK) {
			struct store_append_meta meta = { 0 };
			ret = store_append_commit(&app, &meta, NULL, NULL);
		} else if (app != NULL) {
			store_append_abort(&app);
		}
		free(text);
		if (ret != STORE_OK) {
			cw_fail(cw, "append", ret);
			break;
		}
		cw_log(cw, "P\t%s\t%s\n", msgid, target);

		unsigned r = (unsigned)rand_r(&t->seed) % 8;
		size_t pick = (size_t)rand_r(&t->seed) % live.n;
		if (r < 3) {
			char to[80];
			if (r == 0)
				snprintf(to, sizeof(to), "T/G%d_%llu", (int)getpid(), n);
			else
				snprintf(to, sizeof(to), "G%d_%llu", (int)getpid(), n);
			cw_log(cw, "r\t%s\t%s\n", live.v[pick], to);
			ret = store_mailbox_rename(cw->user, live.v[pick], to);
			if (ret != STORE_OK) {
				cw_fail(cw, "rename", ret);
				break;
			}
			cw_log(cw, "R\t%s\t%s\n", live.v[pick], to);
			free(live.v[pick]);
			live.v[pick] = xstrdup(to);
		} else if (r == 3 && live.n > 3) {
			cw_log(cw, "d\t%s\n", live.v[pick]);
			ret = store_mailbox_delete(cw->user, live.v[pick]);
			if (ret != STORE_OK) {
				cw_fail(cw, "delete", ret);
				break;
			}
			cw_log(cw, "D\t%s\n", live.v[pick]);
			names_del(&live, pick);
		}
	}
	for (size_t i = 0; i < live.n; i++)
		free(live.v[i]);
	free(live.v);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: crash-writer -d MAIL_DIR -u USER [-m MAILBOX] -l LOG\n"
			"       [-t APPEND_THREADS] [-s SEED] [-T MAX_SECONDS] [--no-flags] [-M]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct cw cw = { .mailbox = "INBOX", .log_fd = -1 };
	const char *mail_dir = NULL, *user = NULL, *log_path = NULL;
	unsigned threads = 4, max_seconds = 30;
	bool flags = true, mailboxes = false;
	cw.seed = (unsigned)getpid();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--no-flags") == 0)
			flags = false;
		else if (strcmp(a, "-M") == 0)
			mailboxes = true;
		else if (v == NULL)
			usage();
		else if (strcmp(a, "-d") == 0)
			mail_dir = argv[++i];
		else if (strcmp(a, "-u") == 0)
			user = argv[++i];
		else if (strcmp(a, "-m") == 0)
			cw.mailbox = argv[++i];
		else if (strcmp(a, "-l") == 0)
			log_path = argv[++i];
		else if (strcmp(a, "-t") == 0)
			threads = (unsigned)atoi(argv[++i]);
		else if (strcmp(a, "-s") == 0)
			cw.seed = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "-T") == 0)
			max_seconds = (unsigned)atoi(argv[++i]);
		else
			usage();
	}
	if (mail_dir == NULL || user == NULL || log_path == NULL || threads == 0 ||
	    threads > 64)
		usage();

	struct store_settings set = { .mail_dir = mail_dir, .writer_threads = 2 };
	int ret = store_create(&set, &cw.store);
	if (ret == STORE_OK)
		ret = store_user_open(cw.store, user, &cw.user);
	if (ret != STORE_OK) {
		fprintf(stderr, "crash-writer: open store: %s\n", store_strerror(ret));
		return 1;
	}
	cw.log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (cw.log_fd < 0) {
		fprintf(stderr, "crash-writer: %s: %s\n", log_path, strerror(errno));
		return 1;
	}
	pthread_mutex_init(&cw.mu, NULL);
	cw.pool = xcalloc(CW_MAX_POOL, sizeof(uint32_t));

	struct store_status st;
	ret = store_status(cw.user, cw.mailbox, &st);
	if (ret != STORE_OK) {
		fprintf(stderr, "crash-writer: status: %s\n", store_strerror(ret));
		return 1;
	}
	cw_log(&cw, "V\t%u\n", st.uidvalidity);
	ret = store_mailbox_create(cw.user, CW_ARCHIVE, 0);
	if (ret != STORE_OK && ret != STORE_EEXISTS) {
		fprintf(stderr, "crash-writer: create %s: %s\n", CW_ARCHIVE, store_strerror(ret));
		return 1;
	}
	if (flags) {
		struct store_mailbox *mbox = NULL;
		ret = store_mailbox_open(cw.user, cw.mailbox, true, &mbox);
		if (ret == STORE_OK) {
			ret = store_msg_scan(mbox, 1, UINT32_MAX, cw_pool_cb, &cw);
			store_mailbox_close(&mbox);
		}
		if (ret != STORE_OK) {
			fprintf(stderr, "crash-writer: scan: %s\n", store_strerror(ret));
			return 1;
		}
	}

	if (mailboxes) {
		/* Mailbox mode: one thread doing mailbox operations only. */
		threads = 0;
		flags = false;
	}
	unsigned n = mailboxes ? 1 : threads + (flags ? 3 : 0);
	pthread_t *th = xcalloc(n, sizeof(*th));
	struct cw_thread *tt = xcalloc(n, sizeof(*tt));
	for (unsigned i = 0; i < n; i++) {
		tt[i] = (struct cw_thread){ .cw = &cw, .id = i, .seed = cw.seed * 31 + i };
		void *(*fn)(void *) = mailboxes ? cw_mailbox_main
				    : i < threads ? cw_append_main
				    : i == threads ? cw_flags_main
				    : i == threads + 1 ? cw_expunge_main : cw_move_main;
		pthread_create(&th[i], NULL, fn, &tt[i]);
	}
	/* Tell the test we are running, so it can time kills from here (a
	 * sanitizer build takes a while to get this far). */
	printf("ready\n");
	fflush(stdout);
	/* Normally killed long before; the bound keeps a stray run finite. */
	for (unsigned waited = 0; waited < max_seconds * 10 && !cw.stop; waited++)
		usleep(100000);
	cw.stop = true;
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	store_user_close(&cw.user);
	store_destroy(&cw.store);
	free(th);
	free(tt);
	free(cw.pool);
	close(cw.log_fd);
	return cw.failure != 0 ? 1 : 0;
}
