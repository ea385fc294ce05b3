/* The spam counters (see stats.h): one static set of relaxed atomics. */
#include "server/spam/stats.h"

#include <stdatomic.h>
#include <string.h>

#include "lib/log.h"

static struct {
	atomic_uint_fast64_t scans, delivered, junked, rejected, tempfailed;
	atomic_uint_fast64_t by_action[SPAM_ACTIONS];
	atomic_uint_fast64_t failures[7];
	atomic_uint_fast64_t unscanned_accepted, unscanned_tempfailed, scan_ms;
	atomic_uint_fast64_t learn[5];
} counters;

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

void spam_stats_count(const struct spam_decision *d)
{
	ADD(counters.scans, 1);
	if (d->outcome == SPAM_REJECT)
		ADD(counters.rejected, 1);
	else if (d->outcome == SPAM_TEMPFAIL)
		ADD(counters.tempfailed, 1);
	else if (d->junk)
		ADD(counters.junked, 1);
	else
		ADD(counters.delivered, 1);
	if (d->scanned) {
		ADD(counters.by_action[d->action < SPAM_ACTIONS ? d->action : SPAM_ACTION_UNKNOWN], 1);
		ADD(counters.scan_ms, d->elapsed_ms);
		return;
	}
	if ((unsigned)d->fail < 7)
		ADD(counters.failures[d->fail], 1);
	if (d->outcome == SPAM_TEMPFAIL)
		ADD(counters.unscanned_tempfailed, 1);
	else
		ADD(counters.unscanned_accepted, 1);
}

void spam_stats_learn(enum spam_stat_learn what)
{
	ADD(counters.learn[what], 1);
}

void spam_stats_get(struct spam_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->scans = GET(counters.scans);
	s->delivered = GET(counters.delivered);
	s->junked = GET(counters.junked);
	s->rejected = GET(counters.rejected);
	s->tempfailed = GET(counters.tempfailed);
	for (int i = 0; i < SPAM_ACTIONS; i++)
		s->by_action[i] = GET(counters.by_action[i]);
	for (int i = 0; i < 7; i++)
		s->failures[i] = GET(counters.failures[i]);
	s->unscanned_accepted = GET(counters.unscanned_accepted);
	s->unscanned_tempfailed = GET(counters.unscanned_tempfailed);
	s->scan_ms = GET(counters.scan_ms);
	s->learn_queued = GET(counters.learn[SPAM_STAT_LEARN_QUEUED]);
	s->learn_done = GET(counters.learn[SPAM_STAT_LEARN_DONE]);
	s->learn_retried = GET(counters.learn[SPAM_STAT_LEARN_RETRIED]);
	s->learn_failed = GET(counters.learn[SPAM_STAT_LEARN_FAILED]);
	s->learn_dropped = GET(counters.learn[SPAM_STAT_LEARN_DROPPED]);
}

void spam_stats_log(void)
{
	struct spam_stats s;
	spam_stats_get(&s);
	if (s.scans == 0 && s.learn_queued == 0 && s.learn_dropped == 0)
		return;
	uint64_t failed = 0;
	for (int i = 1; i < 7; i++)
		failed += s.failures[i];
	log_info("spam stats: scans=%llu delivered=%llu junked=%llu rejected=%llu "
		 "tempfailed=%llu no_action=%llu add_header=%llu rewrite_subject=%llu "
		 "greylist=%llu soft_reject=%llu reject=%llu unavailable=%llu "
		 "(connect=%llu timeout=%llu io=%llu protocol=%llu http=%llu) "
		 "unscanned_accepted=%llu unscanned_tempfailed=%llu scan_ms=%llu "
		 "learn_queued=%llu learned=%llu learn_retries=%llu learn_failed=%llu "
		 "learn_dropped=%llu",
		 (unsigned long long)s.scans, (unsigned long long)s.delivered,
		 (unsigned long long)s.junked, (unsigned long long)s.rejected,
		 (unsigned long long)s.tempfailed,
		 (unsigned long long)s.by_action[SPAM_ACTION_NONE],
		 (unsigned long long)s.by_action[SPAM_ACTION_ADD_HEADER],
		 (unsigned long long)s.by_action[SPAM_ACTION_REWRITE_SUBJECT],
		 (unsigned long long)s.by_action[SPAM_ACTION_GREYLIST],
		 (unsigned long long)s.by_action[SPAM_ACTION_SOFT_REJECT],
		 (unsigned long long)s.by_action[SPAM_ACTION_REJECT], (unsigned long long)failed,
		 (unsigned long long)s.failures[SPAM_FAIL_CONNECT],
		 (unsigned long long)s.failures[SPAM_FAIL_TIMEOUT],
		 (unsigned long long)s.failures[SPAM_FAIL_IO],
		 (unsigned long long)s.failures[SPAM_FAIL_PROTOCOL],
		 (unsigned long long)s.failures[SPAM_FAIL_HTTP],
		 (unsigned long long)s.unscanned_accepted,
		 (unsigned long long)s.unscanned_tempfailed, (unsigned long long)s.scan_ms,
		 (unsigned long long)s.learn_queued, (unsigned long long)s.learn_done,
		 (unsigned long long)s.learn_retried, (unsigned long long)s.learn_failed,
		 (unsigned long long)s.learn_dropped);
}
