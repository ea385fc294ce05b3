/* Counters of the spam integration, for the whole process: scans by
 * outcome and by rspamd action, failures by kind (and what on_failure made
 * of them), and the learner's queue. Any thread adds (relaxed atomics);
 * spam_stats_log writes them as one log line (the server does at
 * shutdown). */
#ifndef LOFT_SPAM_STATS_H
#define LOFT_SPAM_STATS_H

#include <stdint.h>

#include "server/spam/spam.h"

struct spam_stats {
	uint64_t scans;                   /* decisions made */
	uint64_t delivered, junked, rejected, tempfailed;
	uint64_t by_action[SPAM_ACTIONS];
	uint64_t failures[7];             /* by enum spam_fail */
	uint64_t unscanned_accepted;      /* failures delivered with a header */
	uint64_t unscanned_tempfailed;    /* failures answered 451 */
	uint64_t scan_ms;                 /* summed time of answered scans */
	uint64_t learn_queued, learn_done, learn_retried, learn_failed, learn_dropped;
};

void spam_stats_get(struct spam_stats *s_r);
void spam_stats_count(const struct spam_decision *d);
enum spam_stat_learn { SPAM_STAT_LEARN_QUEUED, SPAM_STAT_LEARN_DONE, SPAM_STAT_LEARN_RETRIED,
		       SPAM_STAT_LEARN_FAILED, SPAM_STAT_LEARN_DROPPED };
void spam_stats_learn(enum spam_stat_learn what);
/* One info line with every counter (nothing when nothing was counted). */
void spam_stats_log(void);

#endif
