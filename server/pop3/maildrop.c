/* The POP3 maildrop snapshot and its UPDATE commit (see maildrop.h). Login
 * reads INBOX in one store_msg_scan: each message costs 33 bytes here
 * (UID, octets, marks, UIDL) and nothing else, so 50k messages are about
 * 1.6 MB in four allocations. QUIT turns the marks into at most three store
 * calls over compact UID sets (expunge or hide; \Seen; $POP3Retrieved),
 * each split by the store into durable batches. */
#include "server/pop3/maildrop.h"

#include "auth/userdb-fields.h"

#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/xmem.h"

void pop3_policy_get(const struct loft_config *cfg, const struct userdb_fields *fields,
		     struct pop3_policy *p)
{
	/* The one place that decides a user's POP3 policy: the server
	 * settings, with the users file's pop3_delete=expunge|hide and
	 * pop3_seen=yes|no fields over them. */
	p->del = cfg->pop3_delete;
	p->mark_seen = cfg->pop3_mark_seen;
	if (fields != NULL && fields->pop3_delete == USERDB_POP3_DELETE_EXPUNGE)
		p->del = CONF_POP3_EXPUNGE;
	else if (fields != NULL && fields->pop3_delete == USERDB_POP3_DELETE_HIDE)
		p->del = CONF_POP3_HIDE;
	if (fields != NULL && fields->pop3_seen != USERDB_FLAG_DEFAULT)
		p->mark_seen = fields->pop3_seen == USERDB_FLAG_YES;
	p->retention_days = cfg->pop3_retention_days;
	p->login_delay_s = (cfg->pop3_login_delay_ms + 999) / 1000;
	p->max_messages = cfg->pop3_max_messages;
	p->uidl_import = cfg->pop3_uidl_import;
	p->uidl_import_format = cfg->pop3_uidl_import_format;
}

/* ---- building ---- */

struct build {
	struct pop3_maildrop *d;
	uint32_t cap;
	int64_t old_before;          /* internal dates <= this are OLD; or INT64_MIN */
	size_t max;
};

static void grow(struct pop3_maildrop *d, uint32_t cap)
{
	d->uids = xrealloc(d->uids, (size_t)cap * sizeof(*d->uids));
	d->sizes = xrealloc(d->sizes, (size_t)cap * sizeof(*d->sizes));
	d->marks = xrealloc(d->marks, (size_t)cap);
	d->uidls = xrealloc(d->uidls, (size_t)cap * STORE_ID_LEN);
}

static bool has_keyword(const struct store_msg *m, const char *kw)
{
	for (unsigned i = 0; i < m->n_keywords; i++)
		if (m->keywords[i] != NULL && strcasecmp(m->keywords[i], kw) == 0)
			return true;
	return false;
}

static int add_msg(const struct store_msg *m, void *ctx)
{
	struct build *b = ctx;
	struct pop3_maildrop *d = b->d;
	if (m->n_keywords > 0 && has_keyword(m, POP3_KW_DELETED))
		return 0; /* hidden from POP3 for good */
	if (b->max != 0 && d->count >= b->max)
		return 1;
	if (d->count == b->cap) {
		b->cap = b->cap < 64 ? 64 : b->cap * 2;
		grow(d, b->cap);
	}
	uint32_t i = d->count++;
	d->uids[i] = m->uid;
	d->sizes[i] = m->vsize;
	uint8_t mk = 0;
	if (m->flags & STORE_FLAG_SEEN)
		mk |= POP3_MARK_SEEN;
	if (m->n_keywords > 0 && has_keyword(m, POP3_KW_RETRIEVED))
		mk |= POP3_MARK_KEPT;
	if (m->internal_date <= b->old_before)
		mk |= POP3_MARK_OLD;
	d->marks[i] = mk;
	char id[STORE_ID_LEN + 1];
	store_msg_uidl(m, id);
	memcpy(d->uidls + (size_t)i * STORE_ID_LEN, id, STORE_ID_LEN);
	d->total += m->vsize;
	return 0;
}

static void legacy_cb(uint32_t uid, const char *uidl, void *ctx)
{
	pop3_maildrop_set_legacy(ctx, uid, uidl);
}

int pop3_maildrop_build(struct store_mailbox *mbox, const struct pop3_policy *policy,
			int64_t now, struct pop3_maildrop **drop_r)
{
	*drop_r = NULL;
	struct store_status st;
	int err = store_mailbox_status(mbox, &st);
	if (err != 0)
		return err;
	struct pop3_maildrop *d = xcalloc(1, sizeof(*d));
	struct build b = { .d = d, .max = policy->max_messages, .old_before = INT64_MIN };
	if (policy->retention_days > 0)
		b.old_before = now - (int64_t)policy->retention_days * 86400;
	b.cap = st.messages + 16;
	if (b.max != 0 && b.cap > b.max)
		b.cap = (uint32_t)b.max;
	grow(d, b.cap ? b.cap : 1);
	err = store_msg_scan(mbox, 1, UINT32_MAX, add_msg, &b);
	if (err >= 0 && policy->uidl_import == CONF_UIDL_IMPORT_DOVECOT) {
		err = store_legacy_uidls(mbox, policy->uidl_import_format, legacy_cb, d);
		if (err == STORE_ENOTFOUND)
			err = 0; /* no list: every UIDL is Loft's own */
	}
	if (err < 0) {
		pop3_maildrop_free(&d);
		return err;
	}
	*drop_r = d;
	return 0;
}

void pop3_maildrop_free(struct pop3_maildrop **drop)
{
	struct pop3_maildrop *d = *drop;
	if (d == NULL)
		return;
	*drop = NULL;
	free(d->uids);
	free(d->sizes);
	free(d->marks);
	free(d->uidls);
	free(d->legacy);
	free(d);
}

/* ---- the session's marks ---- */

int64_t pop3_maildrop_find(const struct pop3_maildrop *d, uint32_t n, bool *deleted_r)
{
	*deleted_r = false;
	if (n == 0 || n > d->count)
		return -1;
	if (d->marks[n - 1] & POP3_MARK_DELE) {
		*deleted_r = true;
		return -1;
	}
	return (int64_t)n - 1;
}

const char *pop3_maildrop_uidl(const struct pop3_maildrop *d, uint32_t i, size_t *len_r)
{
	const char *slot = d->uidls + (size_t)i * STORE_ID_LEN;
	if (d->marks[i] & POP3_MARK_LEGACY) {
		uint32_t off;
		memcpy(&off, slot, sizeof(off));
		*len_r = strlen(d->legacy + off);
		return d->legacy + off;
	}
	*len_r = STORE_ID_LEN;
	return slot;
}

void pop3_maildrop_dele(struct pop3_maildrop *d, uint32_t i)
{
	if (d->marks[i] & POP3_MARK_DELE)
		return;
	d->marks[i] |= POP3_MARK_DELE;
	d->n_deleted++;
	d->deleted_size += d->sizes[i];
}

void pop3_maildrop_rset(struct pop3_maildrop *d)
{
	for (uint32_t i = 0; i < d->count; i++)
		d->marks[i] &= (uint8_t)~POP3_MARK_DELE;
	d->n_deleted = 0;
	d->deleted_size = 0;
}

/* ---- imported UIDLs ---- */

static bool uidl_valid(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
			return false;
	return n >= 1 && n <= 70;
}

void pop3_maildrop_set_legacy(struct pop3_maildrop *d, uint32_t uid, const char *uidl)
{
	if (!uidl_valid(uidl))
		return;
	uint32_t lo = 0, hi = d->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (d->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == d->count || d->uids[lo] != uid || (d->marks[lo] & POP3_MARK_LEGACY))
		return;
	size_t len = strlen(uidl) + 1;
	if (d->legacy_len + len > UINT32_MAX)
		return;
	if (d->legacy_len + len > d->legacy_cap) {
		d->legacy_cap = (d->legacy_len + len) * 2;
		d->legacy = xrealloc(d->legacy, d->legacy_cap);
	}
	uint32_t off = (uint32_t)d->legacy_len;
	memcpy(d->legacy + off, uidl, len);
	d->legacy_len += len;
	memcpy(d->uidls + (size_t)lo * STORE_ID_LEN, &off, sizeof(off));
	d->marks[lo] |= POP3_MARK_LEGACY;
}

/* ---- UPDATE ---- */

int pop3_maildrop_commit(struct store_mailbox *mbox, const struct pop3_maildrop *d,
			 const struct pop3_policy *policy, struct pop3_update_result *res)
{
	memset(res, 0, sizeof(*res));
	struct store_uid_set gone = { 0 }, seen = { 0 }, kept = { 0 };
	bool retain = policy->retention_days > 0;
	for (uint32_t i = 0; i < d->count; i++) {
		uint8_t mk = d->marks[i];
		bool retr = (mk & POP3_MARK_RETR) != 0;
		bool expired = retain && (mk & POP3_MARK_OLD) && (retr || (mk & POP3_MARK_KEPT));
		if ((mk & POP3_MARK_DELE) || expired) {
			store_uid_set_push(&gone, d->uids[i]);
			res->removed++;
			if (!(mk & POP3_MARK_DELE))
				res->expired++;
			if (policy->del == CONF_POP3_EXPUNGE)
				continue; /* no flags for a message about to go */
		}
		if (retr && policy->mark_seen && !(mk & POP3_MARK_SEEN)) {
			store_uid_set_push(&seen, d->uids[i]);
			res->seen++;
		}
		if (retr && retain && !(mk & POP3_MARK_KEPT) && !(mk & POP3_MARK_DELE) && !expired)
			store_uid_set_push(&kept, d->uids[i]);
	}
	int err = 0;
	if (seen.count > 0)
		err = store_flags_update_set(mbox, seen.ranges, seen.count, STORE_FLAGS_ADD,
					     STORE_FLAG_SEEN, NULL, 0, 0, NULL, NULL, NULL);
	if (err == 0 && kept.count > 0) {
		const char *kw[] = { POP3_KW_RETRIEVED };
		err = store_flags_update_set(mbox, kept.ranges, kept.count, STORE_FLAGS_ADD, 0,
					     kw, 1, 0, NULL, NULL, NULL);
	}
	if (err == 0 && gone.count > 0) {
		if (policy->del == CONF_POP3_EXPUNGE) {
			err = store_expunge_set(mbox, gone.ranges, gone.count, false, NULL);
		} else {
			const char *kw[] = { POP3_KW_DELETED };
			err = store_flags_update_set(mbox, gone.ranges, gone.count, STORE_FLAGS_ADD,
						     0, kw, 1, 0, NULL, NULL, NULL);
		}
	}
	store_uid_set_free(&gone);
	store_uid_set_free(&seen);
	store_uid_set_free(&kept);
	return err;
}
