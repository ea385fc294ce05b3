/* INPROGRESS (progress.h): the steps over a UID set and the reports
 * between them. */
#include "server/imap/progress.h"

#include <stdlib.h>
#include <time.h>

#include "conf/config.h"
#include "lib/xmem.h"
#include "server/imap/caps.h"
#include "server/imap/reply.h"
#include "server/imap/session.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

unsigned imap_progress_step(const struct imap_session *s)
{
	unsigned step = conn_config(s->conn)->imap_inprogress_step;
	return step != 0 ? step : 4096;
}

void imap_progress_init(struct imap_progress *p, const struct imap_session *s,
			const struct store_uid_set *set, uint64_t total)
{
	*p = (struct imap_progress){
		.set = set, .total = total, .step = imap_progress_step(s),
		.start_ms = now_ms(),
		.interval_ms = conn_config(s->conn)->imap_inprogress_interval_ms,
		.on = imap_caps_on(s, IMAP_CAP_INPROGRESS),
	};
	p->last_ms = p->start_ms;
}

bool imap_progress_next(struct imap_progress *p)
{
	p->done += store_uid_set_size(&p->chunk);
	p->chunk.count = 0;
	uint64_t room = p->step;
	while (p->set != NULL && room > 0 && p->ri < p->set->count) {
		const struct store_uid_range *r = &p->set->ranges[p->ri];
		uint32_t lo = p->next != 0 ? p->next : r->lo;
		uint64_t n = (uint64_t)r->hi - lo + 1;
		uint32_t hi = n > room ? lo + (uint32_t)(room - 1) : r->hi;
		store_uid_set_push_range(&p->chunk, lo, hi);
		room -= (uint64_t)hi - lo + 1;
		if (hi == r->hi) {
			p->ri++;
			p->next = 0;
		} else {
			p->next = hi + 1;
		}
	}
	return p->chunk.count > 0;
}

uint64_t imap_progress_count(const struct imap_progress *p)
{
	return p->done + store_uid_set_size(&p->chunk);
}

void imap_progress_report(struct imap_progress *p, struct imap_session *s, uint64_t done,
			  const char *text)
{
	if (!p->on || s->conn == NULL || done == 0 || done >= p->total)
		return;
	uint64_t now = now_ms();
	if (now - p->last_ms < p->interval_ms)
		return;
	p->last_ms = now;
	/* a tag has no '"' or '\\' (RFC 9051 astring-char minus quoted-specials) */
	char *code = xasprintf("INPROGRESS (\"%s\" %llu %llu)", imap_cmd_tag(s),
			       (unsigned long long)done, (unsigned long long)p->total);
	imap_write_untagged(s->conn, "OK", code, text);
	free(code);
}

void imap_progress_free(struct imap_progress *p)
{
	store_uid_set_free(&p->chunk);
}
