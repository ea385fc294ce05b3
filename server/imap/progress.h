/* INPROGRESS (RFC 9585): progress of a long command, reported between its
 * steps as "* OK [INPROGRESS ("tag" done total)] text". SEARCH (and SORT,
 * THREAD) report between search slices, COPY, MOVE and EXPUNGE run their
 * UID set in steps of [imap] inprogress_step messages, one pool job each.
 * A report goes out once [imap] inprogress_interval has passed since the
 * command started or since the last report (0: after every step), only
 * while 0 < done < total, and not when the session has INPROGRESS switched
 * off (caps.h). */
#ifndef LOFT_IMAP_PROGRESS_H
#define LOFT_IMAP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/store.h"

struct imap_session;

struct imap_progress {
	/* The steps over a UID set (imap_progress_next); set is borrowed. */
	const struct store_uid_set *set;
	size_t ri;                  /* range of set the next step starts in */
	uint32_t next;              /* its first UID (0: the range's start) */
	struct store_uid_set chunk; /* the UIDs of the current step */
	uint64_t done, total, step;
	/* Reporting (loop thread). */
	uint64_t start_ms, last_ms, interval_ms;
	bool on;
};

/* Start counting for s's held command: total messages (for a set: its
 * size; set may be NULL for a search). */
void imap_progress_init(struct imap_progress *p, const struct imap_session *s,
			const struct store_uid_set *set, uint64_t total);
/* The next step's UIDs into p->chunk (at most p->step of them; the ones
 * before are counted in p->done). False when the set is used up. Any
 * thread (it touches only p). */
bool imap_progress_next(struct imap_progress *p);
/* Whether steps remain after the current one. */
static inline bool imap_progress_more(const struct imap_progress *p)
{
	return p->set != NULL && p->ri < p->set->count;
}
/* Messages of the set dealt with, the current step's included. */
uint64_t imap_progress_count(const struct imap_progress *p);
/* After a step, on the loop: the INPROGRESS line if one is due. done:
 * messages dealt with so far (p->done for a set). */
void imap_progress_report(struct imap_progress *p, struct imap_session *s, uint64_t done,
			  const char *text);
void imap_progress_free(struct imap_progress *p);
/* Messages per step ([imap] inprogress_step) of s. */
unsigned imap_progress_step(const struct imap_session *s);

#endif
