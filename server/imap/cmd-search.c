/* SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4) with the ESEARCH
 * return options MIN, MAX, ALL, COUNT (RFC 4731) and SAVE (RFC 5182): the
 * criteria become a search program (search-args.c), which runs on the
 * storage pool in slices (search-run.c); the answer is written in pages:
 * "* SEARCH n ..." for IMAP4rev1 without RETURN, "* ESEARCH (TAG "t") [UID]
 * ..." otherwise (always under IMAP4rev2, where a bare SEARCH means RETURN
 * (ALL), RFC 9051 6.4.4). Then other sessions' changes are reported — never
 * an EXPUNGE after a SEARCH by sequence number (RFC 9051 7.5.1).
 *
 * RETURN (UPDATE) and PARTIAL (RFC 5267, CONTEXT=SEARCH): the result is
 * kept as an updating search (search-context.h) until CANCELUPDATE (here
 * too) or the mailbox closes; PARTIAL lo:hi answers positions of it.
 *
 * SAVE (RFC 5182 2.1, 2.4): the result becomes "$" (as UIDs, so it survives
 * expunges of other messages); with only MIN and/or MAX beside SAVE just
 * those messages are saved; without other options no ESEARCH is sent; a
 * failed SEARCH ... SAVE leaves "$" empty. */
#include "server/imap/commands.h"

#include <string.h>

#include "lib/xmem.h"
#include "server/imap/fetch.h"
#include "server/imap/outbuf.h"
#include "server/imap/search-context.h"
#include "server/imap/search-modseq.h"
#include "server/imap/search-out.h"
#include "server/imap/search-run.h"
#include "server/imap/selected.h"

struct search_cmd {
	struct imap_search_parse parse;
	bool by_uid;
	bool esearch;
	unsigned ret;
	struct store_uid_set result;
	struct imap_numbers nums;
	int stage;                    /* 0 head, 1 numbers, 2 tail, 3 done */
	struct imap_outbuf out;
	int err;
	uint64_t modseq;              /* CONDSTORE: "(MODSEQ n)", 0 = none */
};

static void search_cmd_free(void *ctx)
{
	struct search_cmd *sc = ctx;
	imap_search_parse_free(&sc->parse);
	store_uid_set_free(&sc->result);
	imap_outbuf_free(&sc->out);
	free(sc);
}

static void finished(struct imap_session *s, int err, void *arg)
{
	struct search_cmd *sc = arg;
	imap_search_answer(s, err, sc->err, sc->by_uid ? "UID SEARCH completed." : "SEARCH completed.");
}

static void write_more(struct imap_session *s);

static enum imap_cmd_result drained(struct imap_session *s)
{
	s->cmd->on_drained = NULL;
	write_more(s);
	return IMAP_CMD_AGAIN;
}

static uint32_t first_uid(const struct store_uid_set *set)
{
	return set->ranges[0].lo;
}

static uint32_t last_uid(const struct store_uid_set *set)
{
	return set->ranges[set->count - 1].hi;
}

/* PARTIAL (RFC 5267 4.4): the messages at positions lo..hi of the result
 * (ascending), "NIL" when there are none. */
static void write_partial(struct search_cmd *sc)
{
	struct imap_outbuf *o = &sc->out;
	uint32_t lo = sc->parse.partial_lo, hi = sc->parse.partial_hi;
	imap_outbuf_printf(o, " PARTIAL (%u:%u ", lo, hi);
	struct store_uid_set part = { 0 };
	uint64_t pos = 1;
	for (size_t i = 0; i < sc->result.count && pos <= hi; i++) {
		const struct store_uid_range *r = &sc->result.ranges[i];
		uint64_t n = (uint64_t)r->hi - r->lo + 1;
		if (pos + n - 1 >= lo) {
			uint64_t a = pos < lo ? lo - pos : 0;
			uint64_t b = pos + n - 1 > hi ? hi - pos : n - 1;
			store_uid_set_push_range(&part, r->lo + (uint32_t)a, r->lo + (uint32_t)b);
		}
		pos += n;
	}
	if (part.count == 0) {
		imap_outbuf_str(o, "NIL)");
		return;
	}
	struct imap_numbers w;
	imap_numbers_init(&w, &part, sc->nums.view, sc->by_uid, true);
	(void)imap_numbers_write(&w, o, SIZE_MAX);
	imap_outbuf_str(o, ")");
	store_uid_set_free(&part);
}

/* The ESEARCH head: correlator, UID, MIN, MAX, COUNT, PARTIAL; ALL follows. */
static void esearch_head(struct imap_session *s, struct search_cmd *sc)
{
	struct imap_outbuf *o = &sc->out;
	imap_outbuf_printf(o, "* ESEARCH (TAG \"%s\")", imap_cmd_tag(s));
	if (sc->by_uid)
		imap_outbuf_str(o, " UID");
	if (sc->result.count > 0) {
		if (sc->ret & IMAP_SRET_MIN)
			imap_outbuf_printf(o, " MIN %u",
					   imap_numbers_of(&sc->nums, first_uid(&sc->result)));
		if (sc->ret & IMAP_SRET_MAX)
			imap_outbuf_printf(o, " MAX %u",
					   imap_numbers_of(&sc->nums, last_uid(&sc->result)));
	}
	if (sc->ret & IMAP_SRET_COUNT)
		imap_outbuf_printf(o, " COUNT %llu",
				   (unsigned long long)store_uid_set_size(&sc->result));
	if (sc->ret & IMAP_SRET_PARTIAL)
		write_partial(sc);
	if (sc->modseq > 0)
		imap_outbuf_printf(o, " MODSEQ %llu", (unsigned long long)sc->modseq);
	if ((sc->ret & IMAP_SRET_ALL) && sc->result.count > 0)
		imap_outbuf_str(o, " ALL ");
}

/* RFC 7162 3.1.5: with a MODSEQ criterion the answer carries the highest
 * MODSEQ of the messages it returns: of all matches, or, when only MIN
 * and/or MAX are returned, of those. Nothing when nothing matched. */
static uint64_t answer_modseq(const struct search_cmd *sc, const struct store_search_modseqs *ms)
{
	if (!sc->parse.uses_modseq || sc->result.count == 0)
		return 0;
	unsigned ret = sc->esearch ? sc->ret : IMAP_SRET_ALL;
	if (ret & (IMAP_SRET_ALL | IMAP_SRET_COUNT | IMAP_SRET_PARTIAL))
		return ms->highest;
	uint64_t m = 0;
	if ((ret & IMAP_SRET_MIN) && ms->first > m)
		m = ms->first;
	if ((ret & IMAP_SRET_MAX) && ms->last > m)
		m = ms->last;
	return m;
}

static void write_more(struct imap_session *s)
{
	struct search_cmd *sc = s->cmd->ctx;
	for (;;) {
		bool more = false;
		switch (sc->stage) {
		case 0:
			if (!sc->esearch) {
				imap_outbuf_str(&sc->out, "* SEARCH");
				if (sc->result.count > 0)
					imap_outbuf_str(&sc->out, " ");
			} else if ((sc->ret & ~(unsigned)IMAP_SRET_SAVE) == 0) {
				sc->stage = 3;     /* SAVE alone: no response */
				continue;
			} else {
				esearch_head(s, sc);
			}
			sc->stage = 1;
			break;
		case 1:
			if (!sc->esearch || (sc->ret & IMAP_SRET_ALL))
				more = !imap_numbers_write(&sc->nums, &sc->out, IMAP_FETCH_PAGE);
			if (!more)
				sc->stage = 2;
			break;
		case 2:
			if (!sc->esearch) {
				struct imap_search_modseq_acc acc = { sc->modseq, sc->modseq > 0 };
				imap_search_modseq_write(&acc, &sc->out);
			}
			imap_outbuf_str(&sc->out, "\r\n");
			sc->stage = 3;
			break;
		default:
			/* the update waits for the output to drain itself */
			(void)imap_sel_send(s, &sc->out);
			imap_sel_update(s, sc->by_uid ? 0 : IMAP_SEL_NO_EXPUNGE, finished, sc);
			return;
		}
		if (sc->out.len >= IMAP_FETCH_PAGE && imap_sel_send(s, &sc->out)) {
			s->cmd->on_drained = drained;
			return;
		}
	}
}

/* RFC 5182 2.4: what SAVE keeps. */
static void save_result(struct imap_selected *sel, struct search_cmd *sc)
{
	store_uid_set_free(&sel->searchres);
	const struct store_uid_set *r = &sc->result;
	if (r->count == 0)
		return;
	bool only_minmax = (sc->ret & (IMAP_SRET_MIN | IMAP_SRET_MAX)) != 0 &&
			   (sc->ret & (IMAP_SRET_ALL | IMAP_SRET_COUNT)) == 0;
	if (!only_minmax) {
		for (size_t i = 0; i < r->count; i++)
			store_uid_set_push_range(&sel->searchres, r->ranges[i].lo, r->ranges[i].hi);
		return;
	}
	uint32_t lo = first_uid(r), hi = last_uid(r);
	if (sc->ret & IMAP_SRET_MIN)
		store_uid_set_push(&sel->searchres, lo);
	if ((sc->ret & IMAP_SRET_MAX) && !((sc->ret & IMAP_SRET_MIN) && lo == hi))
		store_uid_set_push(&sel->searchres, hi);
}

static void searched(struct imap_session *s, int err, struct store_uid_set *result,
		     const struct store_search_modseqs *modseqs, void *arg)
{
	struct search_cmd *sc = arg;
	if (!imap_search_succeeded(s, err, sc->ret, sc->by_uid, &sc->err, finished, sc))
		return;
	sc->result = *result;
	memset(result, 0, sizeof(*result));
	sc->modseq = answer_modseq(sc, modseqs);
	if (sc->ret & IMAP_SRET_SAVE)
		save_result(s->sel, sc);
	imap_numbers_init(&sc->nums, &sc->result, s->sel->view, sc->by_uid, sc->esearch);
	if (sc->ret & IMAP_SRET_UPDATE)
		imap_search_keep(s, sc->by_uid, &sc->parse.prog, &sc->result, NULL, &sc->out);
	write_more(s);
}

enum imap_cmd_result imap_search_command(struct imap_session *s, const struct imap_command *cmd,
					 bool by_uid)
{
	struct search_cmd *sc = xcalloc(1, sizeof(*sc));
	struct imap_search_env env;
	imap_search_env(s, &env);
	sc->by_uid = by_uid;
	if (imap_search_parse(&env, IMAP_SEARCH_FORM_SEARCH, cmd->args, cmd->n_args,
			      &sc->parse) < 0) {
		/* RFC 5182 2.1: a failed SEARCH ... SAVE empties "$" */
		if (sc->parse.ret & IMAP_SRET_SAVE)
			store_uid_set_free(&s->sel->searchres);
		imap_search_reply_error(s, cmd->tag, &sc->parse);
		search_cmd_free(sc);
		return IMAP_CMD_DONE;
	}
	sc->ret = sc->parse.ret;
	if ((sc->ret & IMAP_SRET_UPDATE) && imap_search_context_has(s->sel, cmd->tag)) {
		/* RFC 5267 4.2: the tag names the updates; it may not be reused */
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "The tag of an updating search is in use.");
		search_cmd_free(sc);
		return IMAP_CMD_DONE;
	}
	sc->esearch = sc->parse.have_return || env.rev2;
	if (!sc->parse.have_return && env.rev2)
		sc->ret = IMAP_SRET_ALL;
	imap_cmd_hold(s, cmd->tag, sc, search_cmd_free);
	if (sc->parse.uses_modseq)      /* a CONDSTORE enabling command */
		imap_sel_condstore_enable(s);
	imap_search_start(s, sc->parse.prog, searched, sc);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_search_command(s, cmd, false);
}

enum imap_cmd_result imap_cmd_cancelupdate(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args == 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "CANCELUPDATE needs search tags.");
		return IMAP_CMD_DONE;
	}
	for (size_t i = 0; i < cmd->n_args; i++) {
		if (cmd->args[i].type != IMAP_ARG_QUOTED && cmd->args[i].type != IMAP_ARG_LITERAL) {
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Search tags are quoted strings.");
			return IMAP_CMD_DONE;
		}
	}
	for (size_t i = 0; i < cmd->n_args; i++) {
		if (!imap_search_context_cancel(s->sel, cmd->args[i].str)) {
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, "No updating search has that tag.");
			return IMAP_CMD_DONE;
		}
	}
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "Updates cancelled.");
	return IMAP_CMD_DONE;
}
