/* The text criteria of a search program for one message (search-private.h):
 * the envelope ones (SUBJECT, FROM/TO/CC/BCC, SENT*) from the cached parse,
 * and the file ones (HEADER, BODY, TEXT) from one streamed pass of
 * msg_search_text that stops as soon as every file criterion is decided.
 * Text is casemapped (lib/casemap.h) and searched with one Knuth-Morris-
 * Pratt matcher per criterion, so a body is never held whole: a match may
 * span the blocks the file arrives in. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "storage/search-private.h"

void search_vals_reset(struct search_vals *sv, unsigned n)
{
	if (sv->n < n) {
		sv->v = xrealloc(sv->v, n * sizeof(*sv->v));
		sv->kmp = xrealloc(sv->kmp, n * sizeof(*sv->kmp));
	}
	sv->n = n;
	for (unsigned i = 0; i < n; i++) {
		sv->v[i] = SV_UNKNOWN;
		sv->kmp[i] = 0;
	}
}

void search_vals_free(struct search_vals *sv)
{
	free(sv->v);
	free(sv->kmp);
	memset(sv, 0, sizeof(*sv));
}

/* ---- substring matching ---- */

/* Feed text to a node's matcher from position *pos; true on a match.
 * Linear in the text (the failure function was computed by prepare). */
static bool kmp_feed(const struct store_search_node *n, size_t *pos, const char *text, size_t len)
{
	const char *k = n->key;
	size_t m = n->key_len, q = *pos;
	if (m == 0)
		return true;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		while (q > 0 && k[q] != c)
			q = n->kmp_fail[q - 1];
		if (k[q] == c)
			q++;
		if (q == m) {
			*pos = 0;
			return true;
		}
	}
	*pos = q;
	return false;
}

bool search_text_contains(const struct store_search_node *n, const char *text, size_t len)
{
	if (n->key_len == 0)
		return true;
	struct casemap_buf b = { 0 };
	casemap_utf8(text, len, &b);
	bool found = b.len >= n->key_len && memmem(b.data, b.len, n->key, n->key_len) != NULL;
	casemap_buf_free(&b);
	return found;
}

/* ---- addresses ---- */

static void put_str(struct msg_buf *out, struct msg_str s)
{
	if (s.data != NULL && s.len > 0)
		msg_buf_append(out, s.data, s.len);
}

void search_addr_write(const struct msg_addr_list *list, struct msg_buf *out)
{
	bool in_group = false, first = true;
	for (uint32_t i = 0; i < list->count; i++) {
		const struct msg_addr *a = &list->addrs[i];
		if (a->mailbox.data != NULL && a->domain.data == NULL && a->name.data == NULL &&
		    a->route.data == NULL && !in_group && i + 1 < list->count) {
			/* group start */
			if (!first)
				msg_buf_puts(out, ", ");
			msg_rfc2047_decode(a->mailbox.data, a->mailbox.len, out);
			msg_buf_puts(out, ": ");
			in_group = true;
			first = true;
			continue;
		}
		if (a->mailbox.data == NULL && a->domain.data == NULL) {
			/* group end */
			msg_buf_puts(out, ";");
			in_group = false;
			first = false;
			continue;
		}
		if (!first)
			msg_buf_puts(out, ", ");
		first = false;
		bool named = a->name.data != NULL && a->name.len > 0;
		if (named) {
			msg_rfc2047_decode(a->name.data, a->name.len, out);
			msg_buf_puts(out, " <");
		}
		if (a->route.data != NULL && a->route.len > 0) {
			put_str(out, a->route);
			msg_buf_putc(out, ':');
		}
		put_str(out, a->mailbox);
		if (a->domain.data != NULL && a->domain.len > 0) {
			msg_buf_putc(out, '@');
			put_str(out, a->domain);
		}
		if (named)
			msg_buf_putc(out, '>');
	}
}

/* ---- tier INFO: the envelope ---- */

static const struct msg_addr_list *addr_field(const struct msg_envelope *env, const char *f)
{
	if (strcasecmp(f, "From") == 0)
		return &env->from;
	if (strcasecmp(f, "To") == 0)
		return &env->to;
	if (strcasecmp(f, "Cc") == 0)
		return &env->cc;
	if (strcasecmp(f, "Bcc") == 0)
		return &env->bcc;
	if (strcasecmp(f, "Sender") == 0)
		return &env->sender;
	if (strcasecmp(f, "Reply-To") == 0)
		return &env->reply_to;
	return NULL;
}

/* Runs of white space as one space (how a folded Subject is compared). */
static void compress_lwsp(struct msg_buf *b)
{
	size_t o = 0;
	bool sp = false;
	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!sp)
				b->data[o++] = ' ';
			sp = true;
			continue;
		}
		sp = false;
		b->data[o++] = c;
	}
	b->len = o;
}

static void info_node(struct store_search_node *n, const struct msg_envelope *env,
		      struct search_vals *sv, struct msg_buf *tmp)
{
	enum search_val v = SV_FALSE;
	tmp->len = 0;
	switch (n->kind) {
	case STORE_SEARCH_SENTBEFORE:
	case STORE_SEARCH_SENTON:
	case STORE_SEARCH_SENTSINCE: {
		struct search_date d;
		if (env == NULL || env->date.data == NULL ||
		    search_date_parse(env->date.data, env->date.len, &d) < 0)
			break;
		int64_t day = store_search_day(d.year, d.month, d.day);
		if (n->kind == STORE_SEARCH_SENTBEFORE)
			v = day < n->day;
		else if (n->kind == STORE_SEARCH_SENTON)
			v = day == n->day;
		else
			v = day >= n->day;
		break;
	}
	case STORE_SEARCH_SUBJECT:
		if (env == NULL || env->subject.data == NULL)
			break;
		{
			/* folding white space is compressed before the encoded
			 * words are decoded (what they encode is kept as is) */
			struct msg_buf raw = { 0 };
			msg_buf_append(&raw, env->subject.data, env->subject.len);
			compress_lwsp(&raw);
			msg_rfc2047_decode(raw.data != NULL ? raw.data : "", raw.len, tmp);
			msg_buf_free(&raw);
		}
		v = search_text_contains(n, tmp->data != NULL ? tmp->data : "", tmp->len);
		break;
	case STORE_SEARCH_ADDRESS: {
		const struct msg_addr_list *l = env != NULL ? addr_field(env, n->field) : NULL;
		if (l == NULL || !l->present)
			break;
		search_addr_write(l, tmp);
		v = search_text_contains(n, tmp->data != NULL ? tmp->data : "", tmp->len);
		break;
	}
	default:
		return;
	}
	sv->v[n->slot] = (uint8_t)v;
}

static void info_walk(struct store_search_node *n, const struct msg_envelope *env,
		      struct search_vals *sv, struct msg_buf *tmp)
{
	for (; n != NULL; n = n->next) {
		if (n->child != NULL)
			info_walk(n->child, env, sv, tmp);
		else if (n->tier == SEARCH_TIER_INFO)
			info_node(n, env, sv, tmp);
	}
}

void search_eval_info(struct store_search *prog, const struct msg_info *info,
		      struct search_vals *sv)
{
	struct msg_buf tmp = { 0 };
	info_walk(prog->root, info->root != NULL ? info->root->envelope : NULL, sv, &tmp);
	msg_buf_free(&tmp);
}

/* ---- tier FILE: headers and bodies ---- */

struct file_ctx {
	struct store_search *prog;
	const struct msg_info *info;
	struct search_vals *sv;
	struct store_search_node **nodes;    /* the FILE criteria */
	size_t n_nodes;
	bool need_body;                      /* BODY or TEXT criteria */
	bool need_parts;                     /* TEXT: MIME headers too */
	const struct msg_part *cur;          /* body part being fed */
	struct casemap_stream cs;
	struct casemap_buf buf;
	struct msg_buf tmp;
	uint64_t bytes;
};

static void collect(struct file_ctx *fc, struct store_search_node *n)
{
	for (; n != NULL; n = n->next) {
		if (n->child != NULL) {
			collect(fc, n->child);
			continue;
		}
		if (n->tier != SEARCH_TIER_FILE)
			continue;
		if (n->key_len == 0 && n->kind != STORE_SEARCH_HEADER) {
			fc->sv->v[n->slot] = SV_TRUE;   /* "" is in every text */
			continue;
		}
		fc->nodes = xrealloc(fc->nodes, (fc->n_nodes + 1) * sizeof(*fc->nodes));
		fc->nodes[fc->n_nodes++] = n;
		if (n->kind != STORE_SEARCH_HEADER)
			fc->need_body = true;
		if (n->kind == STORE_SEARCH_TEXT)
			fc->need_parts = true;
	}
}

static bool all_decided(const struct file_ctx *fc)
{
	for (size_t i = 0; i < fc->n_nodes; i++)
		if (fc->sv->v[fc->nodes[i]->slot] != SV_TRUE)
			return false;
	return true;
}

static int on_text(enum msg_text_kind kind, const char *field, const struct msg_part *part,
		   const char *text, size_t len, void *ctx)
{
	struct file_ctx *fc = ctx;
	fc->bytes += len;
	bool root = part == fc->info->root;
	if (kind == MSG_TEXT_HEADER) {
		if (!root && !fc->need_parts)
			return fc->need_body ? 0 : 1;   /* past the message header */
		fc->tmp.len = 0;
		for (size_t i = 0; i < fc->n_nodes; i++) {
			struct store_search_node *n = fc->nodes[i];
			uint8_t *v = &fc->sv->v[n->slot];
			if (*v == SV_TRUE)
				continue;
			if (n->kind == STORE_SEARCH_HEADER && root &&
			    strcasecmp(n->field, field) == 0) {
				if (search_text_contains(n, text, len))
					*v = SV_TRUE;
			} else if (n->kind == STORE_SEARCH_TEXT) {
				if (fc->tmp.len == 0) {
					msg_buf_puts(&fc->tmp, field);
					msg_buf_puts(&fc->tmp, ": ");
					msg_buf_append(&fc->tmp, text, len);
				}
				if (search_text_contains(n, fc->tmp.data, fc->tmp.len))
					*v = SV_TRUE;
			}
		}
		return all_decided(fc) ? 1 : 0;
	}
	if (!fc->need_body)
		return 1;
	if (part->cte == MSG_CTE_UNKNOWN)
		return 0;        /* an unknown encoding is not text (RFC 2045 6.4) */
	if (part != fc->cur) {
		fc->cur = part;
		fc->cs.n_hold = 0;
		for (size_t i = 0; i < fc->n_nodes; i++)
			fc->sv->kmp[fc->nodes[i]->slot] = 0;
	}
	fc->buf.len = 0;
	casemap_stream_run(&fc->cs, text, len, &fc->buf);
	for (size_t i = 0; i < fc->n_nodes; i++) {
		struct store_search_node *n = fc->nodes[i];
		if (n->kind == STORE_SEARCH_HEADER || fc->sv->v[n->slot] == SV_TRUE)
			continue;
		if (kmp_feed(n, &fc->sv->kmp[n->slot], fc->buf.data, fc->buf.len))
			fc->sv->v[n->slot] = SV_TRUE;
	}
	return all_decided(fc) ? 1 : 0;
}

int search_eval_file(struct store_search *prog, const struct msg_info *info, int fd,
		     struct search_vals *sv, uint64_t *bytes_r)
{
	struct file_ctx fc = { .prog = prog, .info = info, .sv = sv };
	collect(&fc, prog->root);
	int err = 0;
	if (fc.n_nodes > 0 && info->root != NULL) {
		int r = msg_search_text(info, fd, on_text, &fc);
		if (r < 0)
			err = STORE_EIO;
	}
	for (size_t i = 0; i < fc.n_nodes; i++)
		if (sv->v[fc.nodes[i]->slot] != SV_TRUE)
			sv->v[fc.nodes[i]->slot] = SV_FALSE;
	*bytes_r += fc.bytes;
	free(fc.nodes);
	casemap_buf_free(&fc.buf);
	msg_buf_free(&fc.tmp);
	return err;
}
