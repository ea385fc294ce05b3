/* RETR read-ahead and the serialisation of a session's storage jobs (see
 * readahead.h). The cache is a small array: a session reads ahead at most
 * POP3_RA_MAX messages and read_ahead bytes, and a RETR takes its entry out. */
#include "server/pop3/readahead.h"

#include <string.h>

#include "lib/xmem.h"
#include "server/pop3/session.h"
#include "server/pop3/stuff.h"
#include "server/services.h"
#include "storage/store.h"

struct ra_entry {
	uint32_t index;
	char *data;                  /* NULL: not read (error, too big, budget) */
	size_t len;
};

struct pop3_readahead {
	struct sess_job job;
	struct pop3_session *s;
	size_t budget, max_msg;
	bool busy;
	/* the job's request and results (the pool thread owns them while busy) */
	struct ra_entry want[POP3_RA_MAX];
	uint32_t uids[POP3_RA_MAX];
	unsigned n_want;
	/* the cache (loop) */
	struct ra_entry cache[POP3_RA_MAX];
	unsigned n_cache;
	size_t cached;               /* bytes */
	/* a storage job held back until the read-ahead job returns */
	struct sess_job *parked;
};

struct pop3_readahead *pop3_ra_create(size_t budget, size_t max_msg)
{
	struct pop3_readahead *ra = xcalloc(1, sizeof(*ra));
	ra->budget = budget;
	ra->max_msg = max_msg;
	return ra;
}

static void entries_free(struct ra_entry *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		x_free(&e[i].data);
}

void pop3_ra_free(struct pop3_readahead **rap)
{
	struct pop3_readahead *ra = *rap;
	if (ra == NULL)
		return;
	*rap = NULL;
	entries_free(ra->want, ra->n_want);
	entries_free(ra->cache, ra->n_cache);
	free(ra);
}

bool pop3_ra_eligible(const struct pop3_readahead *ra, uint64_t octets)
{
	return ra->budget > 0 && octets <= ra->max_msg;
}

bool pop3_ra_busy(const struct pop3_readahead *ra)
{
	return ra->busy;
}

unsigned pop3_ra_count(const struct pop3_readahead *ra)
{
	return ra->n_cache;
}

bool pop3_ra_has(const struct pop3_readahead *ra, uint32_t i)
{
	for (unsigned k = 0; k < ra->n_cache; k++)
		if (ra->cache[k].index == i)
			return true;
	return false;
}

char *pop3_ra_take(struct pop3_readahead *ra, uint32_t i, size_t *len_r)
{
	for (unsigned k = 0; k < ra->n_cache; k++) {
		if (ra->cache[k].index != i)
			continue;
		char *data = ra->cache[k].data;
		*len_r = ra->cache[k].len;
		ra->cached -= ra->cache[k].len;
		ra->cache[k] = ra->cache[--ra->n_cache];
		return data;
	}
	return NULL;
}

/* On the pool: one message whole, stuffed, with its terminator. */
static char *read_one(struct store_mailbox *mbox, uint32_t uid, size_t max, size_t *len_r)
{
	struct store_reader *r;
	uint64_t vsize;
	if (store_reader_open(mbox, uid, &r, &vsize) != 0)
		return NULL;
	char *raw = NULL, *out = NULL;
	size_t got = 0;
	if (vsize <= max) {
		raw = xmalloc(vsize + 1);
		while (got < vsize) {
			size_t n;
			if (store_reader_read(r, raw + got, vsize - got, &n) != 0 || n == 0)
				break;
			got += n;
		}
	}
	store_reader_close(&r);
	if (raw == NULL || got != vsize) {
		free(raw);
		return NULL;
	}
	struct pop3_stuffer st;
	pop3_stuffer_init(&st, false, 0);
	out = xmalloc(2 * got + 6);
	size_t n = pop3_stuff(&st, raw, got, out);
	const char *end = pop3_stuff_end(&st);
	memcpy(out + n, end, strlen(end));
	*len_r = n + strlen(end);
	free(raw);
	return out;
}

static void ra_work(struct sess_job *job)
{
	struct pop3_readahead *ra = (struct pop3_readahead *)job;
	size_t used = 0;
	for (unsigned k = 0; k < ra->n_want; k++) {
		if (k > 0 && used >= ra->budget)
			break;
		ra->want[k].data = read_one(ra->s->inbox, ra->uids[k], ra->max_msg, &ra->want[k].len);
		if (ra->want[k].data != NULL)
			used += ra->want[k].len;
	}
}

static void ra_done(struct sess_job *job)
{
	struct pop3_readahead *ra = (struct pop3_readahead *)job;
	struct pop3_session *s = ra->s;
	ra->busy = false;
	for (unsigned k = 0; k < ra->n_want; k++) {
		struct ra_entry *e = &ra->want[k];
		if (e->data == NULL)
			continue;
		if (ra->n_cache == POP3_RA_MAX || pop3_ra_has(ra, e->index)) {
			x_free(&e->data);
			continue;
		}
		ra->cache[ra->n_cache++] = *e;
		ra->cached += e->len;
		e->data = NULL;
	}
	ra->n_want = 0;
	if (ra->parked != NULL) {
		struct sess_job *p = ra->parked;
		ra->parked = NULL;
		sess_submit(&s->core, s->core.svc->storage_pool, p);
		return;
	}
	if (!sess_alive(&s->core) || s->cmd == NULL || s->cmd->on_storage_idle == NULL)
		return;
	struct conn *c = s->conn;
	conn_cork(c);
	if (s->cmd->on_storage_idle(s) == POP3_CMD_DONE)
		pop3_cmd_finish(s);
	conn_uncork(c);
}

void pop3_ra_start(struct pop3_session *s, const uint32_t *idx, unsigned n)
{
	struct pop3_readahead *ra = s->ra;
	if (ra->busy || ra->parked != NULL)
		return;
	/* Entries not asked for again were mispredicted: drop them. */
	for (unsigned k = 0; k < ra->n_cache;) {
		bool wanted = false;
		for (unsigned j = 0; j < n && !wanted; j++)
			wanted = idx[j] == ra->cache[k].index;
		if (wanted) {
			k++;
			continue;
		}
		ra->cached -= ra->cache[k].len;
		free(ra->cache[k].data);
		ra->cache[k] = ra->cache[--ra->n_cache];
	}
	ra->n_want = 0;
	size_t planned = ra->cached;
	for (unsigned k = 0; k < n && ra->n_want < POP3_RA_MAX; k++) {
		uint64_t size = s->drop->sizes[idx[k]];
		if (pop3_ra_has(ra, idx[k]) || !pop3_ra_eligible(ra, size))
			continue;
		if (ra->n_want > 0 && planned + size > ra->budget)
			break;
		ra->want[ra->n_want] = (struct ra_entry){ .index = idx[k] };
		ra->uids[ra->n_want] = s->drop->uids[idx[k]];
		ra->n_want++;
		planned += size;
	}
	if (ra->n_want == 0)
		return;
	ra->busy = true;
	ra->s = s;
	ra->job.work = ra_work;
	ra->job.done = ra_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &ra->job);
}

void pop3_storage_submit(struct pop3_session *s, struct sess_job *job)
{
	if (s->ra != NULL && s->ra->busy) {
		s->ra->parked = job;
		return;
	}
	sess_submit(&s->core, s->core.svc->storage_pool, job);
}
