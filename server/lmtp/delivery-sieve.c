/* Sieve at delivery (see delivery.h): runs a recipient's active script on
 * the spooled message (sieve_deliver_plan, on the delivery's pool thread)
 * and turns the plan into the targets delivery.c appends to: keep and
 * fileinto (with :create and imap4flags' flags), a header changed by
 * editheader or the recipient's own prefix lines as one copy of the
 * message for that recipient (linked into each of its mailboxes), discard,
 * and reject/ereject answered as delivery_msg.refuse says. After the
 * commits it finishes each plan (redirects, vacation, notices, marks). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "server/lmtp/delivery-run.h"
#include "server/spam/spam.h"
#include "storage/message/message.h"

#define COPY_CHUNK 65536

/* Make slot's own copy of the message: head, then bytes [from, to) of
 * src_fd; parsed as it is written (its blob rides the commits), synced
 * once, and read by Sieve through slot->own_fd when it is the first one.
 * Replaces an earlier copy (its descriptor stays open for the plan). */
static int own_copy(struct run_ctx *c, struct run_slot *slot, const char *head, size_t head_len,
		    int src_fd, uint64_t from, uint64_t to)
{
	struct store *store = c->m->store;
	struct store_spool *sp = NULL;
	int err = store_spool_create(store, c->m->headroom + head_len, &sp);
	if (err != STORE_OK)
		return err;
	struct msg_parser *parser = msg_parser_new(store_msg_limits(store));
	if (head_len > 0) {
		err = store_spool_write(sp, head, head_len);
		msg_parser_feed(parser, head, head_len);
	}
	char *buf = xmalloc(COPY_CHUNK);
	for (uint64_t off = from; err == STORE_OK && off < to;) {
		size_t want = to - off < COPY_CHUNK ? (size_t)(to - off) : COPY_CHUNK;
		ssize_t got = pread(src_fd, buf, want, (off_t)off);
		if (got <= 0) {
			err = STORE_EIO;
			break;
		}
		err = store_spool_write(sp, buf, (size_t)got);
		msg_parser_feed(parser, buf, (size_t)got);
		off += (uint64_t)got;
	}
	free(buf);
	struct msg_info *info = msg_parser_finish(&parser);
	if (err != STORE_OK) {
		msg_info_free(&info);
		store_spool_free(&sp);
		return err;
	}
	store_spool_free(&slot->own);
	msg_info_free(&slot->own_info);
	x_free(&slot->own_cache);
	slot->own_cache_len = 0;
	slot->own = sp;
	slot->own_info = info;
	if (info != NULL)
		msg_blob_write(info, &slot->own_cache, &slot->own_cache_len);
	if (slot->own_fd < 0 && store_spool_open(sp, &slot->own_fd) != STORE_OK)
		return STORE_EIO;
	return STORE_OK;
}

/* "550 5.7.1 <reason>" on one line of printable ASCII. */
static void reject_reply(struct delivery_rcpt *r, const char *text)
{
	size_t n = (size_t)snprintf(r->reply, sizeof(r->reply), "550 5.7.1 ");
	bool space = true;
	for (const char *p = text != NULL ? text : ""; *p != '\0' && n + 1 < sizeof(r->reply); p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch == 0x7f) {
			if (space)
				continue;
			ch = ' ';
		} else if (ch >= 0x80) {
			ch = '?';
		}
		space = ch == ' ';
		r->reply[n++] = (char)ch;
	}
	while (n > 10 && r->reply[n - 1] == ' ')
		n--;
	if (n == 10)
		n += (size_t)snprintf(r->reply + n, sizeof(r->reply) - n, "Rejected");
	r->reply[n] = '\0';
}

int dsieve_plan(struct run_ctx *c, struct run_slot *slot)
{
	struct delivery_msg *m = c->m;
	struct delivery_rcpt *r = slot->rcpt;
	char *active = NULL;
	if (store_script_active(slot->user, &active) != STORE_OK)
		return STORE_OK;   /* no script: the keep */
	free(active);
	if (c->fd < 0) {
		c->fd = delivery_msg_open(m);
		if (c->fd < 0)
			return STORE_EIO;
	}
	struct sieve_delivery *sd = &slot->sd;
	memset(sd, 0, sizeof(*sd));
	if (r->prefix != NULL) {
		/* the script sees the recipient's lines: its own copy */
		int err = own_copy(c, slot, r->prefix, r->prefix_len, c->fd, 0, m->size);
		if (err != STORE_OK)
			return err;
		sd->fd = slot->own_fd;
		sd->size = store_spool_size(slot->own);
		sd->info = slot->own_info;
	} else {
		sd->fd = c->fd;
		sd->size = m->size;
		sd->info = m->info;
	}
	slot->address = xstrdup(r->address != NULL ? r->address : r->user);
	sd->user = slot->user;
	sd->user_address = slot->address;
	sd->mail_from = m->mail_from != NULL ? m->mail_from : "";
	sd->rcpt_to = slot->address;
	sd->orig_rcpt = r->orcpt;
	if (r->orcpt != NULL && strncasecmp(r->orcpt, "rfc822;", 7) == 0)
		sd->orig_rcpt = r->orcpt + 7;   /* DSN's ORCPT: the address part */
	int score = spam_sieve_spamtest(&c->base->spam);
	if (score > 0) {
		sd->spam_tested = true;
		sd->spam_score = (unsigned)score;
		int pct = spam_sieve_percent(&c->base->spam);
		sd->spam_percent = pct < 0 ? 0 : (unsigned)pct;
	}
	(void)sieve_deliver_plan(m->sieve, sd, &slot->plan);
	struct sieve_plan *p = slot->plan;
	r->sieve = true;
	bool stores = false;
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct sieve_action *a = &p->actions[i];
		struct run_target *t;
		switch (a->kind) {
		case SIEVE_ACT_KEEP:
			/* the keep goes where the recipient's mail goes (its
			 * detail mailbox, `loft deliver -m`), INBOX by default */
			t = run_target_add(c, slot, r->mailbox != NULL ? r->mailbox : a->mailbox,
					   a->flags, a->keywords, a->n_keywords);
			t->keep = true;
			stores = true;
			break;
		case SIEVE_ACT_FILEINTO:
			t = run_target_add(c, slot, a->mailbox, a->flags, a->keywords,
					   a->n_keywords);
			t->create = a->create;
			stores = true;
			break;
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT:
			if (!r->rejected)
				reject_reply(r, a->text);
			r->rejected = true;
			break;
		default:
			break;
		}
	}
	size_t hlen;
	uint64_t body;
	const char *header = sieve_plan_header(p, &hlen, &body);
	int err = STORE_OK;
	if (stores && header != NULL)
		err = own_copy(c, slot, header, hlen, sd->fd, body, sd->size);
	if (err == STORE_OK && stores && slot->own != NULL)
		err = store_spool_sync(slot->own);
	return err;
}

/* One log line of what the plan did for the recipient. */
static void log_plan(const struct run_slot *slot, bool refused)
{
	const struct delivery_rcpt *r = slot->rcpt;
	const struct sieve_plan *p = slot->plan;
	char line[1024];
	size_t n = 0;
	line[0] = '\0';
#define ADD(...)                                                                          \
	do {                                                                              \
		if (n < sizeof(line))                                                     \
			n += (size_t)snprintf(line + n, sizeof(line) - n, __VA_ARGS__);  \
	} while (0)
	for (size_t i = 0; i < slot->n_targets; i++) {
		const struct run_target *t = &slot->targets[i];
		if (t->merged)
			continue;
		ADD("%s%s %s", n ? ", " : "", t->keep ? "keep" : "fileinto", t->stored_in);
		if (t->result == STORE_OK)
			ADD(" uid=%u", t->uid);
		else
			ADD(" failed (%s)", store_strerror(t->result));
	}
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct sieve_action *a = &p->actions[i];
		if (a->kind == SIEVE_ACT_REDIRECT || a->kind == SIEVE_ACT_VACATION)
			ADD("%s%s <%s>", n ? ", " : "", sieve_action_name(a->kind), a->address);
		else if (a->kind == SIEVE_ACT_REJECT || a->kind == SIEVE_ACT_EREJECT)
			ADD("%s%s (%s)", n ? ", " : "", sieve_action_name(a->kind),
			    refused ? "refused" : "notice to the sender");
	}
	if (r->discarded)
		ADD("%sdiscard", n ? ", " : "");
#undef ADD
	log_info("sieve: user=%s rcpt=<%s>: %s%s", r->user, slot->address, line,
		 p->error != NULL ? " (the script failed: kept)" : "");
}

void dsieve_finish(struct run_ctx *c, struct run_slot *slots, size_t n)
{
	struct delivery_msg *m = c->m;
	size_t n_ok = 0, n_fail = 0;
	int fail_err = STORE_OK;
	for (size_t i = 0; i < n; i++) {
		const struct delivery_rcpt *r = slots[i].rcpt;
		if (slots[i].dup_of >= 0 || r->rejected)
			continue;
		if (r->result == STORE_OK) {
			n_ok++;
		} else {
			if (n_fail++ == 0)
				fail_err = r->result;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct run_slot *slot = &slots[i];
		struct delivery_rcpt *r = slot->rcpt;
		if (slot->plan == NULL || slot->dup_of >= 0)
			goto free_own;
		bool stored_ok = slot->dup_of == -1 && r->result == STORE_OK;
		bool refused = false;
		if (r->rejected && slot->dup_of == -1) {
			if (m->refuse == DELIVERY_REFUSE_RCPT ||
			    (m->refuse == DELIVERY_REFUSE_MESSAGE && n_ok == 0 && n_fail == 0)) {
				refused = true;
				r->result = DELIVERY_EREJECTED;
			} else if (m->refuse == DELIVERY_REFUSE_MESSAGE && n_ok == 0) {
				/* the others failed and the reply is theirs: the
				 * message comes again and so does the reject */
				r->result = fail_err;
				stored_ok = false;
			}
		} else if (slot->dup_of == -1 && r->result == STORE_OK && slot->n_targets == 0) {
			r->discarded = true;
		}
		int failed = sieve_plan_finish(m->sieve, &slot->sd, slot->plan, stored_ok, refused);
		if (r->rejected && !refused && stored_ok && failed > 0)
			r->result = STORE_EIO;   /* the notice did not go: retry */
		log_plan(slot, refused);
		sieve_plan_free(&slot->plan);
	free_own:
		if (slot->own_fd >= 0)
			close(slot->own_fd);
		slot->own_fd = -1;
		store_spool_free(&slot->own);
		msg_info_free(&slot->own_info);
		x_free(&slot->own_cache);
		x_free(&slot->address);
	}
}
