/* Concurrency workload for tests/e2e/test_storage_concurrency.py: one
 * process, many threads, all on the same mailbox while other processes
 * (loft deliver, other hammers) write to it too.
 *   flag workers  each owns one keyword (on every message) and \Flagged on
 *                 the messages with uid % total_workers == its index; it
 *                 toggles them with ADD/REMOVE (single and batched), tracks
 *                 what it expects and checks the final state itself
 *   readers       open random messages and verify their trailer line
 *                 ("X-Trailer: <length> <sha256 of the bytes before>")
 *   appender      appends messages with trailers and expunges some of them
 * Output (stdout, tab separated): "U uid msgid" per append, "X uid" per
 * expunge, "E name uid,uid,..." the UIDs on which a worker expects its
 * keyword or \Flagged set at the end, "R reads" per reader (messages read
 * and verified whole).
 * --verify reads every message of the mailbox and checks its trailer. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/xmem.h"
#include "storage/store.h"

#define HM_MAX_UID (1u << 20)

struct hammer {
	struct store *store;
	struct store_user *user;
	const char *mailbox;
	unsigned proc;            /* index of this process */
	unsigned workers;         /* flag workers in this process */
	unsigned first_worker;    /* global index of our first worker */
	unsigned total_workers;   /* across all processes */
	unsigned appends, expunges;
	double seconds;
	atomic_bool stop;
	atomic_int failures;
	pthread_mutex_t out_mu;
};

struct hm_worker {
	struct hammer *hm;
	unsigned index;           /* global worker index */
	unsigned seed;
	char keyword[32];
	unsigned char *kw;        /* expected keyword state by uid */
	unsigned char *flagged;   /* expected \Flagged state by uid (owned uids) */
	unsigned char *touched;
	unsigned long reads;
};

static void hm_out(struct hammer *hm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void hm_out(struct hammer *hm, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&hm->out_mu);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&hm->out_mu);
}

static void hm_fail(struct hammer *hm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void hm_fail(struct hammer *hm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "hammer %u: ", hm->proc);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	atomic_fetch_add(&hm->failures, 1);
}

static double hm_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;
	EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Check "X-Trailer: <len> <sha>\r\n" at the end of buf. 0 if intact. */
static int hm_check_trailer(const char *buf, size_t len, char *why, size_t why_size)
{
	if (len < 4 || memcmp(buf + len - 2, "\r\n", 2) != 0) {
		snprintf(why, why_size, "does not end in CRLF (%zu bytes)", len);
		return -1;
	}
	size_t start = len - 2;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	size_t body_len = 0;
	char sha[65], want[65];
	if (sscanf(buf + start, "X-Trailer: %zu %64s", &body_len, want) != 2) {
		snprintf(why, why_size, "no trailer line (%zu bytes)", len);
		return -1;
	}
	if (body_len != start) {
		snprintf(why, why_size, "length %zu, trailer says %zu", start, body_len);
		return -1;
	}
	sha256_hex(buf, body_len, sha);
	if (strcmp(sha, want) != 0) {
		snprintf(why, why_size, "sha256 mismatch over %zu bytes", body_len);
		return -1;
	}
	return 0;
}

/* Read a whole message and check its trailer. Returns 0, 1 if expunged,
 * -1 on failure (reported). */
static int hm_read_check(struct hammer *hm, struct store_mailbox *mbox, uint32_t uid)
{
	int fd = -1;
	uint64_t size = 0;
	int ret = store_msg_open(mbox, uid, &fd, &size);
	if (ret == STORE_ENOTFOUND)
		return 1;
	if (ret != STORE_OK) {
		hm_fail(hm, "open uid %u: %s", uid, store_strerror(ret));
		return -1;
	}
	char *buf = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';   /* the trailer check scans with sscanf */
	char why[128];
	int res = 0;
	if (got != size) {
		hm_fail(hm, "uid %u: read %zu of %llu bytes", uid, got, (unsigned long long)size);
		res = -1;
	} else if (hm_check_trailer(buf, got, why, sizeof(why)) < 0) {
		hm_fail(hm, "uid %u: partial or wrong message: %s", uid, why);
		res = -1;
	}
	free(buf);
	return res;
}

struct uid_vec { uint32_t *v; size_t n, cap; };

static int uid_vec_cb(const struct store_msg *msg, void *ctx)
{
	struct uid_vec *u = ctx;
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 256;
		u->v = xrealloc(u->v, u->cap * sizeof(uint32_t));
	}
	u->v[u->n++] = msg->uid;
	return 0;
}

static int hm_scan(struct store_mailbox *mbox, struct uid_vec *u)
{
	u->n = 0;
	return store_msg_scan(mbox, 1, UINT32_MAX, uid_vec_cb, u);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- flag worker ---- */

static int hm_update(struct hm_worker *w, struct store_mailbox *mbox, uint32_t *uids, size_t n,
		     bool add, bool flag)
{
	const char *kw[1] = { w->keyword };
	int ret = store_flags_update(mbox, uids, n, add ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE,
				     flag ? STORE_FLAG_FLAGGED : 0, flag ? NULL : kw,
				     flag ? 0 : 1, 0, NULL);
	if (ret != STORE_OK) {
		hm_fail(w->hm, "flags update: %s", store_strerror(ret));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		w->touched[uids[i]] = 1;
		if (flag)
			w->flagged[uids[i]] = add;
		else
			w->kw[uids[i]] = add;
	}
	return 0;
}

struct verify_ctx { struct hm_worker *w; size_t checked; };

static int verify_cb(const struct store_msg *msg, void *ctx)
{
	struct verify_ctx *v = ctx;
	struct hm_worker *w = v->w;
	if (msg->uid >= HM_MAX_UID || !w->touched[msg->uid])
		return 0;
	bool has = false;
	for (uint16_t i = 0; i < msg->n_keywords; i++)
		has = has || strcmp(msg->keywords[i], w->keyword) == 0;
	if (has != (bool)w->kw[msg->uid])
		hm_fail(w->hm, "worker %u: uid %u keyword %s is %s, expected %s", w->index,
			msg->uid, w->keyword, has ? "set" : "unset", has ? "unset" : "set");
	if (msg->uid % w->hm->total_workers == w->index) {
		bool fl = (msg->flags & STORE_FLAG_FLAGGED) != 0;
		if (fl != (bool)w->flagged[msg->uid])
			hm_fail(w->hm, "worker %u: uid %u \\Flagged is %d, expected %d", w->index,
				msg->uid, fl, w->flagged[msg->uid]);
	}
	v->checked++;
	return 0;
}

static void hm_print_expected(struct hm_worker *w, const char *name, const unsigned char *state)
{
	size_t cap = 64, len = 0;
	char *line = xmalloc(cap);
	for (uint32_t uid = 1; uid < HM_MAX_UID; uid++) {
		if (!w->touched[uid] || !state[uid])
			continue;
		if (len + 16 > cap) {
			cap *= 2;
			line = xrealloc(line, cap);
		}
		len += (size_t)snprintf(line + len, cap - len, "%s%u", len ? "," : "", uid);
	}
	line[len] = '\0';
	hm_out(w->hm, "E\t%s\t%s\n", name, len ? line : "-");
	free(line);
}

static void *hm_worker_main(void *arg)
{
	struct hm_worker *w = arg;
	struct hammer *hm = w->hm;
	struct store_mailbox *mbox = NULL;
	struct uid_vec u = { 0 };
	int ret = store_mailbox_open(hm->user, hm->mailbox, false, &mbox);
	if (ret != STORE_OK) {
		hm_fail(hm, "open: %s", store_strerror(ret));
		return NULL;
	}
	double end = hm_now() + hm->seconds;
	unsigned ops = 0;
	while (hm_now() < end && atomic_load(&hm->failures) == 0) {
		if (ops % 32 == 0 && hm_scan(mbox, &u) != STORE_OK) {
			hm_fail(hm, "scan failed");
			break;
		}
		if (u.n == 0) {
			usleep(1000);
			ops++;
			continue;
		}
		unsigned r = (unsigned)rand_r(&w->seed);
		uint32_t uid = u.v[(size_t)rand_r(&w->seed) % u.n];
		if (uid >= HM_MAX_UID)
			break;
		if (r % 8 == 0) {
			/* A batch: our keyword on up to 8 random messages. */
			uint32_t batch[8];
			size_t n = 0;
			for (size_t i = 0; i < 8; i++) {
				uint32_t b = u.v[(size_t)rand_r(&w->seed) % u.n];
				bool dup = false;
				for (size_t j = 0; j < n; j++)
					dup = dup || batch[j] == b;
				if (!dup)
					batch[n++] = b;
			}
			qsort(batch, n, sizeof(batch[0]), cmp_u32);
			if (hm_update(w, mbox, batch, n, (r / 8) % 2 == 0, false) < 0)
				break;
		} else if (r % 3 == 0 && uid % hm->total_workers == w->index) {
			if (hm_update(w, mbox, &uid, 1, !w->flagged[uid], true) < 0)
				break;
		} else {
			if (hm_update(w, mbox, &uid, 1, !w->kw[uid], false) < 0)
				break;
		}
		ops++;
	}
	struct verify_ctx v = { .w = w };
	if (store_msg_scan(mbox, 1, UINT32_MAX, verify_cb, &v) != STORE_OK)
		hm_fail(hm, "final scan failed");
	hm_print_expected(w, w->keyword, w->kw);
	char name[64];
	snprintf(name, sizeof(name), "\\Flagged%u", w->index);
	hm_print_expected(w, name, w->flagged);
	store_mailbox_close(&mbox);
	free(u.v);
	return NULL;
}

/* ---- readers and appender ---- */

static void *hm_reader_main(void *arg)
{
	struct hm_worker *w = arg;
	struct hammer *hm = w->hm;
	struct store_mailbox *mbox = NULL;
	struct uid_vec u = { 0 };
	if (store_mailbox_open(hm->user, hm->mailbox, true, &mbox) != STORE_OK) {
		hm_fail(hm, "reader open failed");
		return NULL;
	}
	for (unsigned long loops = 0; !atomic_load(&hm->stop) && atomic_load(&hm->failures) == 0;
	     loops++) {
		if (loops % 64 == 0 && hm_scan(mbox, &u) != STORE_OK) {
			hm_fail(hm, "reader scan failed");
			break;
		}
		if (u.n == 0) {
			usleep(1000);
			continue;
		}
		if (hm_read_check(hm, mbox, u.v[(size_t)rand_r(&w->seed) % u.n]) == 0)
			w->reads++;
	}
	hm_out(hm, "R\t%lu\n", w->reads);
	store_mailbox_close(&mbox);
	free(u.v);
	return NULL;
}

static char *hm_message(const char *msgid, unsigned *seed, size_t *len_r)
{
	size_t body = 100 + (size_t)rand_r(seed) % 30000;
	char *buf = xmalloc(body + 512);
	size_t len = (size_t)snprintf(buf, 512, "From: hammer@example.org\r\n"
				      "Message-ID: <%s>\r\nSubject: hammer\r\n\r\n", msgid);
	while (len < body)
		len += (size_t)snprintf(buf + len, body + 512 - len, "%08x hammer line\r\n",
					rand_r(seed));
	char sha[65];
	sha256_hex(buf, len, sha);
	len += (size_t)snprintf(buf + len, body + 512 - len, "X-Trailer: %zu %s\r\n", len, sha);
	*len_r = len;
	return buf;
}

static void *hm_appender_main(void *arg)
{
	struct hm_worker *w = arg;
	struct hammer *hm = w->hm;
	uint32_t *mine = xcalloc(hm->appends + 1, sizeof(uint32_t));
	size_t n_mine = 0;
	for (unsigned i = 0; i < hm->appends && atomic_load(&hm->failures) == 0; i++) {
		char msgid[64];
		snprintf(msgid, sizeof(msgid), "h%u.%u@conc", hm->proc, i);
		size_t len;
		char *text = hm_message(msgid, &w->seed, &len);
		struct store_append *app = NULL;
		int ret = store_append_begin(hm->user, hm->mailbox, &app);
		/* Odd chunk sizes so readers would catch a visible partial file. */
		for (size_t off = 0; ret == STORE_OK && off < len; off += 1000) {
			size_t chunk = len - off < 1000 ? len - off : 1000;
			ret = store_append_write(app, text + off, chunk);
		}
		uint32_t uid = 0;
		if (ret == STORE_OK) {
			struct store_append_meta meta = { 0 };
			ret = store_append_commit(&app, &meta, &uid, NULL);
		} else {
			store_append_abort(&app);
		}
		free(text);
		if (ret != STORE_OK) {
			hm_fail(hm, "append: %s", store_strerror(ret));
			break;
		}
		hm_out(hm, "U\t%u\t%s\n", uid, msgid);
		mine[n_mine++] = uid;
	}
	struct store_mailbox *mbox = NULL;
	if (store_mailbox_open(hm->user, hm->mailbox, false, &mbox) != STORE_OK) {
		hm_fail(hm, "appender open failed");
	} else {
		for (unsigned i = 0; i < hm->expunges && i < n_mine; i++) {
			uint32_t uid = mine[i * 2 < n_mine ? i * 2 : i];
			struct store_uid_list gone = { 0 };
			int ret = store_expunge(mbox, &uid, 1, false, &gone);
			if (ret != STORE_OK || gone.count != 1 || gone.uids[0] != uid)
				hm_fail(hm, "expunge uid %u: %s (%zu removed)", uid,
					store_strerror(ret), gone.count);
			else
				hm_out(hm, "X\t%u\n", uid);
			store_uid_list_free(&gone);
		}
		store_mailbox_close(&mbox);
	}
	free(mine);
	return NULL;
}

static int hm_verify_all(struct hammer *hm)
{
	struct store_mailbox *mbox = NULL;
	struct uid_vec u = { 0 };
	if (store_mailbox_open(hm->user, hm->mailbox, true, &mbox) != STORE_OK ||
	    hm_scan(mbox, &u) != STORE_OK) {
		hm_fail(hm, "verify: cannot scan");
		return 1;
	}
	size_t ok = 0;
	for (size_t i = 0; i < u.n; i++)
		if (hm_read_check(hm, mbox, u.v[i]) == 0)
			ok++;
	store_mailbox_close(&mbox);
	printf("V\t%zu\t%zu\n", u.n, ok);
	free(u.v);
	return atomic_load(&hm->failures) == 0 ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: hammer -d MAIL_DIR -u USER [-m MAILBOX] [--verify]\n"
			"  [-p PROC] [-w WORKERS] [-o FIRST_WORKER] [-W TOTAL_WORKERS]\n"
			"  [-r READERS] [-a APPENDS] [-x EXPUNGES] [-s SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct hammer hm = { .mailbox = "INBOX", .workers = 2, .total_workers = 0,
			     .seconds = 3 };
	const char *mail_dir = NULL, *user = NULL;
	unsigned readers = 1;
	bool verify = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--verify") == 0) {
			verify = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(a, "-d") == 0)
			mail_dir = v;
		else if (strcmp(a, "-u") == 0)
			user = v;
		else if (strcmp(a, "-m") == 0)
			hm.mailbox = v;
		else if (strcmp(a, "-p") == 0)
			hm.proc = (unsigned)atoi(v);
		else if (strcmp(a, "-w") == 0)
			hm.workers = (unsigned)atoi(v);
		else if (strcmp(a, "-o") == 0)
			hm.first_worker = (unsigned)atoi(v);
		else if (strcmp(a, "-W") == 0)
			hm.total_workers = (unsigned)atoi(v);
		else if (strcmp(a, "-r") == 0)
			readers = (unsigned)atoi(v);
		else if (strcmp(a, "-a") == 0)
			hm.appends = (unsigned)atoi(v);
		else if (strcmp(a, "-x") == 0)
			hm.expunges = (unsigned)atoi(v);
		else if (strcmp(a, "-s") == 0)
			hm.seconds = atof(v);
		else
			usage();
	}
	if (hm.total_workers == 0)
		hm.total_workers = hm.first_worker + hm.workers;
	if (mail_dir == NULL || user == NULL || hm.workers > 32 || readers > 32 ||
	    hm.first_worker + hm.workers > hm.total_workers)
		usage();
	pthread_mutex_init(&hm.out_mu, NULL);

	struct store_settings set = { .mail_dir = mail_dir, .writer_threads = 2 };
	int ret = store_create(&set, &hm.store);
	if (ret == STORE_OK)
		ret = store_user_open(hm.store, user, &hm.user);
	if (ret != STORE_OK) {
		fprintf(stderr, "hammer: open store: %s\n", store_strerror(ret));
		return 1;
	}
	int code;
	if (verify) {
		code = hm_verify_all(&hm);
	} else {
		unsigned n = hm.workers + readers + 1;
		pthread_t *th = xcalloc(n, sizeof(*th));
		struct hm_worker *w = xcalloc(n, sizeof(*w));
		for (unsigned i = 0; i < n; i++) {
			w[i].hm = &hm;
			w[i].index = hm.first_worker + i;
			w[i].seed = (unsigned)getpid() * 7919u + i;
			snprintf(w[i].keyword, sizeof(w[i].keyword), "kw%u", w[i].index);
			if (i < hm.workers) {
				w[i].kw = xcalloc(HM_MAX_UID, 1);
				w[i].flagged = xcalloc(HM_MAX_UID, 1);
				w[i].touched = xcalloc(HM_MAX_UID, 1);
			}
			void *(*fn)(void *) = i < hm.workers ? hm_worker_main
					    : i < hm.workers + readers ? hm_reader_main
					    : hm_appender_main;
			pthread_create(&th[i], NULL, fn, &w[i]);
		}
		/* Flag workers and the appender first; readers run until the
		 * writers are done. */
		for (unsigned i = 0; i < hm.workers; i++)
			pthread_join(th[i], NULL);
		pthread_join(th[n - 1], NULL);
		atomic_store(&hm.stop, true);
		for (unsigned i = hm.workers; i < n - 1; i++)
			pthread_join(th[i], NULL);
		for (unsigned i = 0; i < hm.workers; i++) {
			free(w[i].kw);
			free(w[i].flagged);
			free(w[i].touched);
		}
		free(th);
		free(w);
		code = atomic_load(&hm.failures) == 0 ? 0 : 1;
	}
	store_user_close(&hm.user);
	store_destroy(&hm.store);
	return code;
}
