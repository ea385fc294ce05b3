/* SORT, UID SORT (RFC 5256 3, RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267
 * ESORT's RETURN options) and THREAD, UID THREAD (RFC 5256 3, 4): the
 * search criteria run as for SEARCH (search-run.c); then the keys of the
 * matching messages are gathered on the storage pool in chunks of
 * IMAP_SEARCH_SLICE_MSGS (storage/sort.h), sorted or threaded there, and
 * the answer is written in pages: "* SORT n ...", "* ESEARCH (TAG ..."
 * (numbers in sort order; MIN and MAX are the first and last in that
 * order, PARTIAL positions of it) or "* THREAD (...)(...)". SORT RETURN
 * (UPDATE) keeps the sorted result as an updating search (RFC 5267
 * CONTEXT=SORT, search-context.h). Like SEARCH they report other sessions'
 * changes afterwards, never an EXPUNGE when numbered by sequence. */
#include "server/imap/commands.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/imap/fetch.h"
#include "server/imap/outbuf.h"
#include "server/imap/search-context.h"
#include "server/imap/search-modseq.h"
#include "server/imap/search-run.h"
#include "server/imap/selected.h"
#include "server/services.h"
#include "storage/sort.h"

struct sort_cmd {
	struct sess_job job;
	struct imap_session *s;
	bool thread;
	bool by_uid;
	struct imap_search_parse parse;
	struct store_sort_crit crit[16];
	size_t n_crit;
	enum store_thread_algo algo;
	struct store_uid_set set;     /* the search result */
	size_t ri;                    /* gathering cursor */
	uint32_t next;
	struct store_sort *sort;
	struct store_thread *coll;
	uint32_t *order;              /* SORT: UIDs in order */
	size_t n_order, oi;
	struct store_thread_node *roots, *cur_root;
	bool esort;
	unsigned ret;
	uint32_t partial_lo, partial_hi;
	bool head_done;
	uint64_t modseq;              /* CONDSTORE: "(MODSEQ n)", 0 = none */
	struct imap_outbuf out;
	int err;
};

static void sort_cmd_free(void *ctx)
{
	struct sort_cmd *sc = ctx;
	imap_search_parse_free(&sc->parse);
	store_uid_set_free(&sc->set);
	store_sort_free(&sc->sort);
	store_thread_collect_free(&sc->coll);
	store_thread_free(&sc->roots);
	free(sc->order);
	imap_outbuf_free(&sc->out);
	free(sc);
}

static void finished(struct imap_session *s, int err, void *arg)
{
	struct sort_cmd *sc = arg;
	imap_search_answer(s, err, sc->err, sc->thread ? "THREAD completed." : "SORT completed.");
}

static uint32_t number(const struct sort_cmd *sc, uint32_t uid)
{
	return sc->by_uid ? uid : store_view_seq(sc->s->sel->view, uid);
}

/* ---- output ---- */

static void write_thread(struct sort_cmd *sc, const struct store_thread_node *nd)
{
	imap_outbuf_str(&sc->out, "(");
	bool first = true;
	while (nd != NULL) {
		if (nd->uid != 0) {
			imap_outbuf_printf(&sc->out, "%s%u", first ? "" : " ", number(sc, nd->uid));
			first = false;
			if (nd->child != NULL && nd->child->next == NULL) {
				nd = nd->child;
				continue;
			}
		}
		if (nd->child != NULL && !first)
			imap_outbuf_str(&sc->out, " ");
		for (const struct store_thread_node *c = nd->child; c != NULL; c = c->next)
			write_thread(sc, c);
		break;
	}
	imap_outbuf_str(&sc->out, ")");
}

/* order[lo..hi) in sort order as a sequence set: ascending runs as a:b,
 * the rest one by one. */
static void write_list(struct sort_cmd *sc, size_t lo, size_t hi)
{
	struct imap_outbuf *o = &sc->out;
	for (size_t i = lo; i < hi;) {
		uint32_t n = number(sc, sc->order[i]);
		size_t k = i;
		while (k + 1 < hi && number(sc, sc->order[k + 1]) == n + (k + 1 - i))
			k++;
		const char *sep = i > lo ? "," : "";
		if (k > i)
			imap_outbuf_printf(o, "%s%u:%u", sep, n, number(sc, sc->order[k]));
		else
			imap_outbuf_printf(o, "%s%u", sep, n);
		i = k + 1;
	}
}

/* Append the next page of the answer; true when it is complete. */
static bool write_page(struct sort_cmd *sc)
{
	struct imap_outbuf *o = &sc->out;
	if (!sc->head_done) {
		sc->head_done = true;
		if (sc->thread) {
			imap_outbuf_str(o, "* THREAD ");
			sc->cur_root = sc->roots;
		} else if (!sc->esort) {
			imap_outbuf_str(o, "* SORT");
		} else {
			if ((sc->ret & ~(unsigned)IMAP_SRET_SAVE) == 0)
				return true;
			imap_outbuf_printf(o, "* ESEARCH (TAG \"%s\")", imap_cmd_tag(sc->s));
			if (sc->by_uid)
				imap_outbuf_str(o, " UID");
			if (sc->n_order > 0 && (sc->ret & IMAP_SRET_MIN))
				imap_outbuf_printf(o, " MIN %u", number(sc, sc->order[0]));
			if (sc->n_order > 0 && (sc->ret & IMAP_SRET_MAX))
				imap_outbuf_printf(o, " MAX %u", number(sc, sc->order[sc->n_order - 1]));
			if (sc->ret & IMAP_SRET_COUNT)
				imap_outbuf_printf(o, " COUNT %zu", sc->n_order);
			if (sc->ret & IMAP_SRET_PARTIAL) {
				/* RFC 5267 4.4: positions lo..hi of the sort order */
				imap_outbuf_printf(o, " PARTIAL (%u:%u ", sc->partial_lo, sc->partial_hi);
				size_t lo = sc->partial_lo - 1, hi = sc->partial_hi;
				if (hi > sc->n_order)
					hi = sc->n_order;
				if (lo >= hi)
					imap_outbuf_str(o, "NIL");
				else
					write_list(sc, lo, hi);
				imap_outbuf_str(o, ")");
			}
			if (sc->modseq > 0)
				imap_outbuf_printf(o, " MODSEQ %llu", (unsigned long long)sc->modseq);
			if (!(sc->ret & IMAP_SRET_ALL) || sc->n_order == 0) {
				imap_outbuf_str(o, "\r\n");
				return true;
			}
			imap_outbuf_str(o, " ALL ");
		}
	}
	if (sc->thread) {
		while (sc->cur_root != NULL && o->len < IMAP_FETCH_PAGE) {
			write_thread(sc, sc->cur_root);
			sc->cur_root = sc->cur_root->next;
		}
		if (sc->cur_root != NULL)
			return false;
		imap_outbuf_str(o, "\r\n");
		return true;
	}
	while (sc->oi < sc->n_order && o->len < IMAP_FETCH_PAGE) {
		if (!sc->esort) {
			imap_outbuf_printf(o, " %u", number(sc, sc->order[sc->oi]));
			sc->oi++;
			continue;
		}
		size_t end = sc->oi + 4096 < sc->n_order ? sc->oi + 4096 : sc->n_order;
		if (sc->oi > 0)
			imap_outbuf_str(o, ",");
		write_list(sc, sc->oi, end);
		sc->oi = end;
	}
	if (sc->oi < sc->n_order)
		return false;
	if (!sc->esort) {                      /* RFC 7162 3.1.5, 7 (sort-data) */
		struct imap_search_modseq_acc acc = { sc->modseq, sc->modseq > 0 };
		imap_search_modseq_write(&acc, o);
	}
	imap_outbuf_str(o, "\r\n");
	return true;
}

static void write_more(struct imap_session *s);

static enum imap_cmd_result drained(struct imap_session *s)
{
	s->cmd->on_drained = NULL;
	write_more(s);
	return IMAP_CMD_AGAIN;
}

static void write_more(struct imap_session *s)
{
	struct sort_cmd *sc = s->cmd->ctx;
	for (;;) {
		bool done = write_page(sc);
		bool full = imap_sel_send(s, &sc->out);
		if (done)
			break;
		if (full) {
			s->cmd->on_drained = drained;
			return;
		}
	}
	imap_sel_update(s, sc->by_uid ? 0 : IMAP_SEL_NO_EXPUNGE, finished, sc);
}

/* ---- gathering keys on the pool ---- */

static void gather_work(struct sess_job *job)
{
	struct sort_cmd *sc = (struct sort_cmd *)job;
	struct imap_selected *sel = sc->s->sel;
	if (!sc->thread && sc->sort == NULL)
		sc->sort = store_sort_new(sel->mbox, sc->crit, sc->n_crit);
	if (sc->thread && sc->coll == NULL)
		sc->coll = store_thread_new(sel->mbox, sc->algo);
	uint32_t left = IMAP_SEARCH_SLICE_MSGS;
	while (sc->ri < sc->set.count && left > 0 && sc->err == 0) {
		const struct store_uid_range *r = &sc->set.ranges[sc->ri];
		uint32_t lo = sc->next > r->lo ? sc->next : r->lo, hi = r->hi;
		if ((uint64_t)hi - lo + 1 > left)
			hi = lo + left - 1;
		sc->err = sc->thread ? store_thread_add(sc->coll, lo, hi)
				     : store_sort_add(sc->sort, lo, hi);
		left -= hi - lo + 1;
		if (hi == r->hi) {
			sc->ri++;
			sc->next = 0;
		} else {
			sc->next = hi + 1;
		}
	}
	if (sc->err != 0 || sc->ri < sc->set.count)
		return;
	if (sc->thread)
		sc->roots = store_thread_finish(sc->coll);
	else
		store_sort_finish(sc->sort, &sc->order, &sc->n_order);
}

static void gather_done(struct sess_job *job)
{
	struct sort_cmd *sc = (struct sort_cmd *)job;
	struct imap_session *s = sc->s;
	if (!sess_alive(&s->core)) {
		imap_cmd_finish(s);
		return;
	}
	if (sc->err != 0) {
		imap_sel_update(s, sc->by_uid ? 0 : IMAP_SEL_NO_EXPUNGE, finished, sc);
		return;
	}
	if (sc->ri < sc->set.count) {
		sess_submit(&s->core, s->core.svc->storage_pool, &sc->job);
		return;
	}
	if (!sc->thread && (sc->ret & IMAP_SRET_UPDATE))
		imap_search_keep(s, sc->by_uid, &sc->parse.prog, &sc->set, &sc->sort, &sc->out);
	write_more(s);
}

static void searched(struct imap_session *s, int err, struct store_uid_set *result,
		     const struct store_search_modseqs *modseqs, void *arg)
{
	struct sort_cmd *sc = arg;
	if (!imap_search_succeeded(s, err, sc->ret, sc->by_uid, &sc->err, finished, sc))
		return;
	sc->set = *result;
	memset(result, 0, sizeof(*result));
	/* RFC 7162 3.1.5: the highest MODSEQ of what SORT returns (THREAD's
	 * grammar has no place for it) */
	if (sc->parse.uses_modseq && !sc->thread && sc->set.count > 0)
		sc->modseq = modseqs->highest;
	if (sc->ret & IMAP_SRET_SAVE) {
		/* RFC 5182 with RFC 5267: the matching messages, unordered */
		store_uid_set_free(&s->sel->searchres);
		for (size_t i = 0; i < sc->set.count; i++)
			store_uid_set_push_range(&s->sel->searchres, sc->set.ranges[i].lo,
						 sc->set.ranges[i].hi);
	}
	sc->job.work = gather_work;
	sc->job.done = gather_done;
	sess_submit(&s->core, s->core.svc->storage_pool, &sc->job);
}

/* ---- commands ---- */

static int parse_criteria(struct sort_cmd *sc, const struct imap_arg *l, const char **why)
{
	static const struct { const char *name; enum store_sort_key key; } names[] = {
		{ "ARRIVAL", STORE_SORT_ARRIVAL }, { "CC", STORE_SORT_CC },
		{ "DATE", STORE_SORT_DATE }, { "FROM", STORE_SORT_FROM },
		{ "SIZE", STORE_SORT_SIZE }, { "SUBJECT", STORE_SORT_SUBJECT },
		{ "TO", STORE_SORT_TO }, { "DISPLAYFROM", STORE_SORT_DISPLAYFROM },
		{ "DISPLAYTO", STORE_SORT_DISPLAYTO },
	};
	*why = "SORT needs a list of sort criteria.";
	if (l->type != IMAP_ARG_LIST || l->list_count == 0)
		return -1;
	bool reverse = false;
	for (size_t i = 0; i < l->list_count; i++) {
		const struct imap_arg *a = &l->list[i];
		*why = "Unknown sort criterion.";
		if (a->type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(a->str, "REVERSE") == 0) {
			if (reverse)
				return -1;
			reverse = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof(names) / sizeof(names[0]) && strcasecmp(names[k].name, a->str) != 0)
			k++;
		if (k == sizeof(names) / sizeof(names[0]))
			return -1;
		if (sc->n_crit == sizeof(sc->crit) / sizeof(sc->crit[0])) {
			*why = "Too many sort criteria.";
			return -1;
		}
		sc->crit[sc->n_crit++] = (struct store_sort_crit){ names[k].key, reverse };
		reverse = false;
	}
	*why = "REVERSE must be followed by a sort criterion.";
	return reverse ? -1 : 0;
}

static enum imap_cmd_result start(struct imap_session *s, const struct imap_command *cmd,
				  struct sort_cmd *sc, size_t first)
{
	struct imap_search_env env;
	imap_search_env(s, &env);
	if (imap_search_parse(&env, sc->thread ? IMAP_SEARCH_FORM_CRITERIA : IMAP_SEARCH_FORM_SORT,
			      cmd->args + first, cmd->n_args - first, &sc->parse) < 0) {
		if (sc->ret & IMAP_SRET_SAVE)
			store_uid_set_free(&s->sel->searchres);
		imap_search_reply_error(s, cmd->tag, &sc->parse);
		sort_cmd_free(sc);
		return IMAP_CMD_DONE;
	}
	if (sc->parse.have_return) {
		/* RETURN after the charset */
		sc->esort = true;
		sc->ret = sc->parse.ret;
		sc->partial_lo = sc->parse.partial_lo;
		sc->partial_hi = sc->parse.partial_hi;
	}
	if ((sc->ret & IMAP_SRET_UPDATE) && imap_search_context_has(s->sel, cmd->tag)) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "The tag of an updating search is in use.");
		sort_cmd_free(sc);
		return IMAP_CMD_DONE;
	}
	sc->s = s;
	imap_cmd_hold(s, cmd->tag, sc, sort_cmd_free);
	if (sc->parse.uses_modseq)      /* a CONDSTORE enabling command */
		imap_sel_condstore_enable(s);
	imap_search_start(s, sc->parse.prog, searched, sc);
	return IMAP_CMD_AGAIN;
}

enum imap_cmd_result imap_sort_command(struct imap_session *s, const struct imap_command *cmd,
				       bool by_uid)
{
	struct sort_cmd *sc = xcalloc(1, sizeof(*sc));
	sc->by_uid = by_uid;
	const char *why = "SORT needs sort criteria, a charset and search criteria.";
	size_t i = 0;
	if (cmd->n_args >= 2 && cmd->args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(cmd->args[0].str, "RETURN") == 0) {
		/* ESORT (RFC 5267 3): the ESEARCH return options */
		struct imap_search_parse tmp = { 0 };
		if (imap_search_parse_return(&cmd->args[1], &tmp) < 0) {
			imap_reply_tagged(s, cmd->tag, "BAD", NULL, tmp.why);
			free(sc);
			return IMAP_CMD_DONE;
		}
		sc->esort = true;
		sc->ret = tmp.ret;
		sc->partial_lo = tmp.partial_lo;
		sc->partial_hi = tmp.partial_hi;
		i = 2;
	}
	if (cmd->n_args < i + 3 || parse_criteria(sc, &cmd->args[i], &why) < 0) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, why);
		free(sc);
		return IMAP_CMD_DONE;
	}
	return start(s, cmd, sc, i + 1);
}

enum imap_cmd_result imap_cmd_sort(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_sort_command(s, cmd, false);
}

enum imap_cmd_result imap_thread_command(struct imap_session *s, const struct imap_command *cmd,
					 bool by_uid)
{
	if (cmd->n_args < 3 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL,
				  "THREAD needs an algorithm, a charset and search criteria.");
		return IMAP_CMD_DONE;
	}
	struct sort_cmd *sc = xcalloc(1, sizeof(*sc));
	sc->thread = true;
	sc->by_uid = by_uid;
	if (strcasecmp(cmd->args[0].str, "ORDEREDSUBJECT") == 0) {
		sc->algo = STORE_THREAD_ORDEREDSUBJECT;
	} else if (strcasecmp(cmd->args[0].str, "REFERENCES") == 0) {
		sc->algo = STORE_THREAD_REFERENCES;
	} else {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "Unknown threading algorithm.");
		free(sc);
		return IMAP_CMD_DONE;
	}
	return start(s, cmd, sc, 1);
}

enum imap_cmd_result imap_cmd_thread(struct imap_session *s, const struct imap_command *cmd)
{
	return imap_thread_command(s, cmd, false);
}
