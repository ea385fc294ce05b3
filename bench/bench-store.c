/* Benchmark of the mail store (not a test): durable append throughput with
 * 1 and 8 writer threads for 4 KiB and 100 KiB messages, the cost of opening
 * a 100k-message mailbox and reading all flags with the index out of the
 * page cache, flag updates per second counted by the durable commits they
 * made (single-UID and batched calls), changes-since with 10 changes in a
 * 10k and a 100k mailbox (must not grow with the mailbox), the session view
 * (build for a FETCH 1:* FLAGS, its memory, and one sync after 10 changes in
 * a 10k and a 100k mailbox), STORE 1:* +FLAGS over the whole 100k mailbox in
 * batches, and peak RSS. Prints one table. Usage: bench-store WORK_DIR
 * [--quick] [--keep]; WORK_DIR should be
 * on a real disk (fsync cost is the point), e.g. /var/tmp. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "storage/store-debug.h"
#include "storage/store.h"

struct bench {
	char dir[512];
	char mail_dir[600];
	struct store *store;
	bool quick;
	double phase_seconds;     /* length of each timed throughput phase */
	unsigned big_messages;    /* the "100k" mailbox */
	unsigned mid_messages;    /* the "10k" mailbox */
};

struct fill {
	struct store_user *user;
	const char *mailbox;
	size_t msg_size;
	atomic_uint *next;        /* shared message counter */
	unsigned limit;           /* stop when *next reaches it (0 = no limit) */
	double until;             /* stop at this time (0 = no limit) */
	unsigned done;
	int error;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, store_strerror(err));
	exit(1);
}

static void row(const char *name, double value, const char *unit, const char *note)
{
	printf("%-50s %12.1f  %-10s %s\n", name, value, unit, note != NULL ? note : "");
	fflush(stdout);
}

static char *make_message(unsigned n, size_t size, size_t *len_r)
{
	char *buf = xmalloc(size + 256);
	size_t len = (size_t)snprintf(buf, 256, "From: bench@example.org\r\nTo: u@example.org\r\n"
				      "Subject: bench %u\r\nMessage-ID: <%u.bench@example.org>\r\n\r\n",
				      n, n);
	while (len < size)
		len += (size_t)snprintf(buf + len, size + 256 - len,
					"%08u benchmark body text, quick brown fox etc.\r\n", n);
	*len_r = len;
	return buf;
}

static void *fill_main(void *arg)
{
	struct fill *f = arg;
	for (;;) {
		unsigned n = atomic_fetch_add(f->next, 1);
		if (f->limit != 0 && n >= f->limit)
			break;
		if (f->until != 0 && now_s() >= f->until)
			break;
		size_t len;
		char *text = make_message(n, f->msg_size, &len);
		struct store_append *app = NULL;
		int ret = store_append_begin(f->user, f->mailbox, &app);
		for (size_t off = 0; ret == STORE_OK && off < len; off += 65536)
			ret = store_append_write(app, text + off, len - off < 65536 ? len - off : 65536);
		if (ret == STORE_OK) {
			struct store_append_meta meta = { .flags = n % 3 ? STORE_FLAG_SEEN : 0 };
			ret = store_append_commit(&app, &meta, NULL, NULL);
		} else {
			store_append_abort(&app);
		}
		free(text);
		if (ret != STORE_OK) {
			f->error = ret;
			break;
		}
		f->done++;
	}
	return NULL;
}

/* Append with `threads` threads until `limit` messages or `seconds` passed.
 * Returns messages appended; *elapsed_r the wall time. */
static unsigned fill_run(struct store_user *user, const char *mailbox, unsigned threads,
			 size_t msg_size, unsigned limit, double seconds, double *elapsed_r)
{
	atomic_uint next = 0;
	pthread_t th[64];
	struct fill f[64];
	double start = now_s();
	for (unsigned i = 0; i < threads; i++) {
		f[i] = (struct fill){ .user = user, .mailbox = mailbox, .msg_size = msg_size,
				      .next = &next, .limit = limit,
				      .until = seconds > 0 ? start + seconds : 0 };
		pthread_create(&th[i], NULL, fill_main, &f[i]);
	}
	unsigned total = 0;
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		if (f[i].error != 0)
			die("append", f[i].error);
		total += f[i].done;
	}
	*elapsed_r = now_s() - start;
	return total;
}

static struct store_user *open_user(struct bench *b, const char *name)
{
	struct store_user *user = NULL;
	int ret = store_user_open(b->store, name, &user);
	if (ret != STORE_OK)
		die("user open", ret);
	return user;
}

static void bench_appends(struct bench *b)
{
	static const size_t sizes[] = { 4 * 1024, 100 * 1024 };
	static const unsigned threads[] = { 1, 8 };
	for (size_t s = 0; s < 2; s++) {
		for (size_t t = 0; t < 2; t++) {
			char user_name[32], name[96], note[96];
			snprintf(user_name, sizeof(user_name), "append%zu%zu", s, t);
			struct store_user *user = open_user(b, user_name);
			uint64_t commits = store_debug_commit_count(b->store);
			double elapsed;
			unsigned n = fill_run(user, "INBOX", threads[t], sizes[s], 0,
					      b->phase_seconds, &elapsed);
			commits = store_debug_commit_count(b->store) - commits;
			snprintf(name, sizeof(name), "durable append %zu KiB, %u thread%s",
				 sizes[s] / 1024, threads[t], threads[t] > 1 ? "s" : "");
			snprintf(note, sizeof(note), "%u msgs, %.1f MB/s, %.1f msgs/commit", n,
				 (double)n * (double)sizes[s] / elapsed / 1e6,
				 commits ? (double)n / (double)commits : 0.0);
			row(name, n / elapsed, "msg/s", note);
			store_user_close(&user);
		}
	}
}

static void create_mailbox(struct bench *b, const char *user_name, unsigned count)
{
	struct store_user *user = open_user(b, user_name);
	double elapsed;
	unsigned n = fill_run(user, "INBOX", 32, 2048, count, 0, &elapsed);
	char name[96], note[64];
	snprintf(name, sizeof(name), "create %uk mailbox (2 KiB msgs, 32 threads)", count / 1000);
	snprintf(note, sizeof(note), "%u msgs in %.1f s", n, elapsed);
	row(name, n / elapsed, "msg/s", note);
	store_user_close(&user);
}

struct scan_ctx { unsigned n, seen; };

static int scan_cb(const struct store_msg *msg, void *ctx)
{
	struct scan_ctx *s = ctx;
	s->n++;
	s->seen += (msg->flags & STORE_FLAG_SEEN) != 0;
	return 0;
}

/* Evict the user's index from the page cache so that the next open reads
 * it from disk: the whole cache as root (drop_caches), else the index files
 * with posix_fadvise (works for files nobody has mapped). Returns how, or
 * NULL when neither worked (the row then says "warm"). */
static const char *drop_page_cache(struct bench *b, const char *user_name)
{
	sync();
	FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
	if (f != NULL) {
		bool ok = fputs("1\n", f) >= 0;
		if (fclose(f) == 0 && ok)
			return "drop_caches";
	}
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	bool all = true;
	for (size_t i = 0; i < 2; i++) {
		char path[800];
		snprintf(path, sizeof(path), "%s/%s/index/%s", b->mail_dir, user_name, files[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		all = all && fd >= 0 && fdatasync(fd) == 0 &&
		      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
		if (fd >= 0)
			close(fd);
	}
	return all ? "fadvise" : NULL;
}

static void bench_open_scan(struct bench *b)
{
	/* A fresh store object so the environment open is part of the cost,
	 * and a cold page cache so the index is read from disk. */
	store_destroy(&b->store);
	const char *cache = drop_page_cache(b, "big");
	struct store_settings set = { .mail_dir = b->mail_dir, .writer_threads = 2 };
	int ret = store_create(&set, &b->store);
	if (ret != STORE_OK)
		die("store create", ret);
	double start = now_s();
	struct store_user *user = open_user(b, "big");
	struct store_mailbox *mbox = NULL;
	ret = store_mailbox_open(user, "INBOX", true, &mbox);
	if (ret != STORE_OK)
		die("mailbox open", ret);
	double opened = now_s();
	struct scan_ctx s = { 0 };
	ret = store_msg_scan(mbox, 1, UINT32_MAX, scan_cb, &s);
	if (ret != STORE_OK)
		die("scan", ret);
	double scanned = now_s();
	char name[96], note[128];
	snprintf(note, sizeof(note), "open %.1f ms + scan %.1f ms, %u msgs, cache dropped: %s",
		 (opened - start) * 1e3, (scanned - opened) * 1e3, s.n,
		 cache != NULL ? cache : "no");
	snprintf(name, sizeof(name), "open %uk mailbox + read all flags (%s)",
		 b->big_messages / 1000, cache != NULL ? "cold" : "warm");
	row(name, (scanned - start) * 1e3, "ms", note);
	/* Warm: the second scan alone. */
	start = now_s();
	s = (struct scan_ctx){ 0 };
	store_msg_scan(mbox, 1, UINT32_MAX, scan_cb, &s);
	row("  read all flags again (warm)", (now_s() - start) * 1e3, "ms", NULL);
	store_mailbox_close(&mbox);
	store_user_close(&user);
}

/* Flag updates that each change something, counted by the durable commits
 * they made: every call is an ADD to a message (or range) whose flag is
 * clear, paired with the REMOVE of the same flag from the same messages,
 * so no call is a no-op that commits nothing. */
static void bench_flag_updates(struct bench *b)
{
	struct store_user *user = open_user(b, "big");
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(user, "INBOX", false, &mbox);
	if (ret != STORE_OK)
		die("mailbox open", ret);
	struct store_status st;
	store_mailbox_status(mbox, &st);
	uint32_t max_uid = st.uidnext - 1;

	unsigned calls = 0;
	uint64_t commits = store_debug_commit_count(b->store);
	double start = now_s(), end = start + b->phase_seconds;
	unsigned seed = 1;
	uint32_t uid = 1;
	while (now_s() < end || calls % 2 != 0) {
		if (calls % 2 == 0)
			uid = 1 + (uint32_t)rand_r(&seed) % max_uid;
		ret = store_flags_update(mbox, &uid, 1, calls % 2 ? STORE_FLAGS_REMOVE
								  : STORE_FLAGS_ADD,
					 STORE_FLAG_FLAGGED, NULL, 0, 0, NULL);
		if (ret != STORE_OK)
			die("flags", ret);
		calls++;
	}
	double elapsed = now_s() - start;
	commits = store_debug_commit_count(b->store) - commits;
	char note[96];
	snprintf(note, sizeof(note), "%u calls, %llu durable commits", calls,
		 (unsigned long long)commits);
	row("flag update, 1 UID per call", (double)commits / elapsed, "commits/s", note);

	enum { BATCH = 1000 };
	uint32_t *uids = xcalloc(BATCH, sizeof(uint32_t));
	unsigned msgs = 0;
	calls = 0;
	commits = store_debug_commit_count(b->store);
	start = now_s();
	end = start + b->phase_seconds;
	while (now_s() < end || calls % 2 != 0) {
		if (calls % 2 == 0) {
			uint32_t first = 1 + (uint32_t)rand_r(&seed) %
					     (max_uid > BATCH ? max_uid - BATCH : 1);
			for (unsigned i = 0; i < BATCH; i++)
				uids[i] = first + i;
		}
		ret = store_flags_update(mbox, uids, BATCH, calls % 2 ? STORE_FLAGS_REMOVE
								      : STORE_FLAGS_ADD,
					 STORE_FLAG_ANSWERED, NULL, 0, 0, NULL);
		if (ret != STORE_OK)
			die("flags", ret);
		calls++;
		msgs += BATCH;
	}
	elapsed = now_s() - start;
	commits = store_debug_commit_count(b->store) - commits;
	snprintf(note, sizeof(note), "%llu durable commits/s of %u UIDs each",
		 (unsigned long long)((double)commits / elapsed), BATCH);
	if (commits != calls)
		snprintf(note, sizeof(note), "%u calls but %llu commits: some changed nothing",
			 calls, (unsigned long long)commits);
	row("flag update, batched", msgs / elapsed, "msgs/s", note);
	free(uids);
	store_mailbox_close(&mbox);
	store_user_close(&user);
}

static int count_cb(const struct store_msg *msg, void *ctx)
{
	(void)msg;
	(*(unsigned *)ctx)++;
	return 0;
}

/* Microseconds per store_changes_since call with 10 changes since. */
static double changes_since_us(struct bench *b, const char *user_name)
{
	struct store_user *user = open_user(b, user_name);
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(user, "INBOX", false, &mbox);
	if (ret != STORE_OK)
		die("mailbox open", ret);
	struct store_status st;
	store_mailbox_status(mbox, &st);
	uint64_t since = st.highestmodseq;
	for (uint32_t i = 0; i < 10; i++) {
		uint32_t uid = 1 + i * ((st.uidnext - 1) / 10);
		ret = store_flags_update(mbox, &uid, 1, STORE_FLAGS_ADD, STORE_FLAG_DRAFT, NULL, 0,
					 0, NULL);
		if (ret != STORE_OK)
			die("flags", ret);
	}
	unsigned reps = b->quick ? 200 : 2000, n = 0;
	double start = now_s();
	for (unsigned i = 0; i < reps; i++) {
		struct store_uid_list vanished = { 0 };
		unsigned got = 0;
		ret = store_changes_since(mbox, since, count_cb, &got, &vanished);
		if (ret != STORE_OK)
			die("changes since", ret);
		store_uid_list_free(&vanished);
		n = got;
	}
	double us = (now_s() - start) * 1e6 / reps;
	if (n != 10)
		fprintf(stderr, "bench-store: changes since returned %u changes, expected 10\n", n);
	store_mailbox_close(&mbox);
	store_user_close(&user);
	return us;
}

/* FETCH 1:* FLAGS as IMAP will do it: build the session view (UIDs only),
 * then read every message's flags. */
static void bench_view_build(struct bench *b)
{
	struct store_user *user = open_user(b, "big");
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(user, "INBOX", true, &mbox);
	if (ret != STORE_OK)
		die("mailbox open", ret);
	double start = now_s();
	struct store_view *view = NULL;
	ret = store_view_open(mbox, &view);
	if (ret != STORE_OK)
		die("view open", ret);
	double built = now_s();
	struct scan_ctx s = { 0 };
	ret = store_msg_scan(mbox, 1, UINT32_MAX, scan_cb, &s);
	if (ret != STORE_OK)
		die("scan", ret);
	double done = now_s();
	char name[96], note[128];
	snprintf(name, sizeof(name), "FETCH 1:* FLAGS, %uk msgs: view + flags", b->big_messages / 1000);
	snprintf(note, sizeof(note), "view %.1f ms (%u msgs, %zu bytes) + flags %.1f ms",
		 (built - start) * 1e3, store_view_count(view), store_view_memory(view),
		 (done - built) * 1e3);
	row(name, (done - start) * 1e3, "ms", note);
	store_view_close(&view);
	store_mailbox_close(&mbox);
	store_user_close(&user);
}

/* Microseconds per store_view_sync that brings in 10 flag changes. */
static double view_sync_us(struct bench *b, const char *user_name)
{
	struct store_user *user = open_user(b, user_name);
	struct store_mailbox *mbox = NULL, *other = NULL;
	int ret = store_mailbox_open(user, "INBOX", false, &mbox);
	if (ret == STORE_OK)
		ret = store_mailbox_open(user, "INBOX", false, &other);
	if (ret != STORE_OK)
		die("mailbox open", ret);
	struct store_view *view = NULL;
	ret = store_view_open(mbox, &view);
	if (ret != STORE_OK)
		die("view open", ret);
	uint32_t n = store_view_count(view);
	unsigned reps = b->quick ? 5 : 20, got = 0;
	double total = 0;
	for (unsigned r = 0; r < reps; r++) {
		uint32_t uids[10];
		for (uint32_t i = 0; i < 10; i++)
			uids[i] = store_view_uid(view, 1 + i * (n / 10));
		/* a keyword no message has yet: every call changes all 10 */
		const char *kw[] = { "$BenchSync" };
		ret = store_flags_update(other, uids, 10, r % 2 ? STORE_FLAGS_REMOVE : STORE_FLAGS_ADD,
					 0, kw, 1, 0, NULL);
		if (ret != STORE_OK)
			die("flags", ret);
		struct store_view_ops ops = { .changed = count_cb };
		struct store_view_sync_info info;
		unsigned changed = 0;
		double start = now_s();
		ret = store_view_sync(view, 0, &ops, &changed, &info);
		total += now_s() - start;
		if (ret != STORE_OK)
			die("view sync", ret);
		got += changed;
	}
	if (got != 10 * reps)
		fprintf(stderr, "bench-store: view sync saw %u changes, expected %u\n", got, 10 * reps);
	store_view_close(&view);
	store_mailbox_close(&other);
	store_mailbox_close(&mbox);
	store_user_close(&user);
	return total * 1e6 / reps;
}

/* STORE 1:* +FLAGS \Seen on the big mailbox: batched, no UID array. */
static void bench_store_all(struct bench *b)
{
	struct store_user *user = open_user(b, "big");
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(user, "INBOX", false, &mbox);
	if (ret != STORE_OK)
		die("mailbox open", ret);
	struct store_uid_range all = { 1, UINT32_MAX };
	unsigned changed = 0;
	uint64_t commits = store_debug_commit_count(b->store);
	double start = now_s();
	ret = store_flags_update_set(mbox, &all, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, 0,
				     count_cb, &changed, NULL);
	if (ret != STORE_OK)
		die("flags 1:*", ret);
	double elapsed = now_s() - start;
	char name[96], note[96];
	snprintf(name, sizeof(name), "STORE 1:* +FLAGS \\Seen, %uk msgs", b->big_messages / 1000);
	snprintf(note, sizeof(note), "%u changed, %llu durable commits, %.0f msgs/s", changed,
		 (unsigned long long)(store_debug_commit_count(b->store) - commits),
		 changed / elapsed);
	row(name, elapsed * 1e3, "ms", note);
	store_mailbox_close(&mbox);
	store_user_close(&user);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .phase_seconds = 3, .big_messages = 100000, .mid_messages = 10000 };
	bool keep = false;
	if (argc < 2) {
		fprintf(stderr, "usage: bench-store WORK_DIR [--quick] [--keep]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			b.quick = true;
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
	}
	if (b.quick) {
		b.phase_seconds = 1;
		b.big_messages = 20000;
		b.mid_messages = 2000;
	}
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench-store: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	snprintf(b.dir, sizeof(b.dir), "%s/bench-store.XXXXXX", argv[1]);
	if (mkdtemp(b.dir) == NULL) {
		fprintf(stderr, "bench-store: mkdtemp in %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	snprintf(b.mail_dir, sizeof(b.mail_dir), "%s/mail", b.dir);
	mkdir(b.mail_dir, 0700);
	struct store_settings set = { .mail_dir = b.mail_dir, .writer_threads = 2 };
	int ret = store_create(&set, &b.store);
	if (ret != STORE_OK)
		die("store create", ret);

	printf("Loft store benchmark: %s, %ld CPUs, writer_threads=2%s\n", b.dir,
	       sysconf(_SC_NPROCESSORS_ONLN), b.quick ? ", quick (smaller sizes)" : "");
	printf("%-50s %12s  %-10s %s\n", "measurement", "value", "unit", "notes");
	printf("%.*s\n", 100, "----------------------------------------------------------------"
			      "------------------------------------");
	bench_appends(&b);
	create_mailbox(&b, "mid", b.mid_messages);
	create_mailbox(&b, "big", b.big_messages);
	bench_open_scan(&b);
	bench_flag_updates(&b);
	double mid = changes_since_us(&b, "mid");
	double big = changes_since_us(&b, "big");
	char name[96];
	snprintf(name, sizeof(name), "changes-since, 10 changes in %uk msgs", b.mid_messages / 1000);
	row(name, mid, "us/call", NULL);
	snprintf(name, sizeof(name), "changes-since, 10 changes in %uk msgs", b.big_messages / 1000);
	char note[64];
	snprintf(note, sizeof(note), "%.2fx the small mailbox (must stay ~1x)", big / mid);
	row(name, big, "us/call", note);
	bench_view_build(&b);
	mid = view_sync_us(&b, "mid");
	big = view_sync_us(&b, "big");
	snprintf(name, sizeof(name), "view sync, 10 changes in %uk msgs", b.mid_messages / 1000);
	row(name, mid, "us/call", NULL);
	snprintf(name, sizeof(name), "view sync, 10 changes in %uk msgs", b.big_messages / 1000);
	snprintf(note, sizeof(note), "%.2fx the small mailbox (must stay ~1x)", big / mid);
	row(name, big, "us/call", note);
	bench_store_all(&b);
	store_destroy(&b.store);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	row("peak RSS", (double)ru.ru_maxrss / 1024.0, "MiB", NULL);
	if (!keep)
		nftw(b.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("kept %s\n", b.dir);
	return 0;
}
