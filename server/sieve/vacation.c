/* The mail Sieve writes itself: the vacation reply (RFC 5230 with RFC
 * 3834's rules: never to the null sender, to lists, to bulk or
 * auto-submitted mail, to mail that does not name the user, to ourselves;
 * once per sender and :handle per period, the mark key made here and the
 * mark kept by the store) and the rejection notice of reject/ereject when
 * the refusal cannot be made in the protocol (an MDN, RFC 8098). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/xmem.h"
#include "server/sieve/run.h"

void sv_mark_key(unsigned char key_r[32], const char *a, const char *b, const char *c)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 32;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	const char *parts[3] = { a, b, c };
	for (int i = 0; i < 3; i++)
		EVP_DigestUpdate(ctx, parts[i] != NULL ? parts[i] : "", strlen(parts[i] ? parts[i] : "") + 1);
	EVP_DigestFinal_ex(ctx, key_r, &len);
	EVP_MD_CTX_free(ctx);
}

void sv_encode_header_value(const char *s, size_t len, struct msg_buf *out)
{
	bool ascii = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\r' || s[i] == '\n')
			ascii = false;
	if (ascii) {
		msg_buf_append(out, s, len);
		return;
	}
	/* RFC 2047 B words of at most 45 input bytes, split at characters */
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;
	bool first = true;
	while (i < len) {
		size_t n = len - i < 45 ? len - i : 45;
		while (n > 0 && i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;
		if (n == 0)
			n = len - i < 45 ? len - i : 45;
		if (!first)
			msg_buf_puts(out, "\r\n ");
		first = false;
		msg_buf_puts(out, "=?utf-8?b?");
		for (size_t k = 0; k < n; k += 3) {
			unsigned v = (unsigned char)s[i + k] << 16;
			if (k + 1 < n)
				v |= (unsigned char)s[i + k + 1] << 8;
			if (k + 2 < n)
				v |= (unsigned char)s[i + k + 2];
			msg_buf_putc(out, b64[(v >> 18) & 63]);
			msg_buf_putc(out, b64[(v >> 12) & 63]);
			msg_buf_putc(out, k + 1 < n ? b64[(v >> 6) & 63] : '=');
			msg_buf_putc(out, k + 2 < n ? b64[v & 63] : '=');
		}
		msg_buf_puts(out, "?=");
		i += n;
	}
}

/* ---- who must not get a reply ---- */

static bool addr_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

struct mine {
	const char *user;
	const struct sv_vacation *v;
	const char *rcpt, *orig;
	bool found;
};

static bool is_mine(const struct mine *w, const char *addr)
{
	if (addr_eq(addr, w->user) || addr_eq(addr, w->rcpt) || addr_eq(addr, w->orig))
		return true;
	for (size_t i = 0; i < w->v->n_addresses; i++)
		if (addr_eq(addr, w->v->addresses[i]))
			return true;
	return false;
}

static void mine_cb(const char *local, size_t llen, const char *dom, size_t dlen, void *ctx)
{
	struct mine *w = ctx;
	char *a = xasprintf("%.*s@%.*s", (int)llen, local, (int)dlen, dom);
	if (is_mine(w, a))
		w->found = true;
	free(a);
}

static bool sender_is_automatic(const char *sender)
{
	const char *at = strrchr(sender, '@');
	size_t llen = at ? (size_t)(at - sender) : strlen(sender);
	char local[256];
	if (llen >= sizeof(local))
		llen = sizeof(local) - 1;
	memcpy(local, sender, llen);
	local[llen] = '\0';
	static const char *const names[] = {
		"mailer-daemon", "listserv", "majordomo", "owner-", "-request", "-owner",
	};
	for (size_t i = 0; i < 3; i++)
		if (strcasecmp(local, names[i]) == 0)
			return true;
	if (strncasecmp(local, "owner-", 6) == 0)
		return true;
	for (size_t i = 4; i < 6; i++) {
		size_t n = strlen(names[i]);
		if (llen > n && strcasecmp(local + llen - n, names[i]) == 0)
			return true;
	}
	return false;
}

static bool list_or_bulk(struct sv_msg *m, const char **why_r)
{
	const struct sv_field *f = sv_msg_field(m, "auto-submitted", 0);
	if (f != NULL && strcasecmp(f->value, "no") != 0) {
		*why_r = "auto-submitted message";
		return true;
	}
	f = sv_msg_field(m, "precedence", 0);
	if (f != NULL && (strcasecmp(f->value, "bulk") == 0 || strcasecmp(f->value, "list") == 0 ||
			  strcasecmp(f->value, "junk") == 0)) {
		*why_r = "bulk or list message (Precedence)";
		return true;
	}
	static const char *const list_fields[] = {
		"list-id", "list-help", "list-subscribe", "list-unsubscribe", "list-post",
		"list-owner", "list-archive",
	};
	for (size_t i = 0; i < sizeof(list_fields) / sizeof(list_fields[0]); i++) {
		if (sv_msg_count(m, list_fields[i]) > 0) {
			*why_r = "mailing list message";
			return true;
		}
	}
	f = sv_msg_field(m, "x-auto-response-suppress", 0);
	if (f != NULL && (strcasestr(f->value, "all") != NULL || strcasestr(f->value, "oof") != NULL)) {
		*why_r = "X-Auto-Response-Suppress";
		return true;
	}
	return false;
}

static void message_id(char *buf, size_t size, const char *hostname)
{
	unsigned char r[12];
	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	char hex[25];
	for (int i = 0; i < 12; i++)
		snprintf(hex + i * 2, 3, "%02x", r[i]);
	snprintf(buf, size, "<%s.sieve@%s>", hex, hostname != NULL ? hostname : "localhost");
}

bool sv_vacation_reply(struct sv_run *run, const struct sv_vacation *v, char **to_r,
		       char **msg_r, unsigned char mark_r[32], const char **why_r)
{
	const struct sieve_delivery *d = run->d;
	struct sv_msg *m = &run->msg;
	const char *sender = d->mail_from != NULL ? d->mail_from : "";
	*why_r = NULL;
	if (sender[0] == '\0') {
		*why_r = "null envelope sender";
		return false;
	}
	struct mine w = { d->user_address, v, d->rcpt_to, d->orig_rcpt, false };
	if (is_mine(&w, sender)) {
		*why_r = "the sender is the user";
		return false;
	}
	if (sender_is_automatic(sender)) {
		*why_r = "automatic sender address";
		return false;
	}
	if (sv_msg_load(m) != 0 || list_or_bulk(m, why_r))
		return false;
	/* RFC 5230 4.5: only when one of the user's addresses is a recipient */
	static const char *const rcpt_fields[] = {
		"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc",
	};
	for (size_t i = 0; i < 6 && !w.found; i++)
		for (size_t k = 0;; k++) {
			const struct sv_field *f = sv_msg_field(m, rcpt_fields[i], k);
			if (f == NULL || w.found)
				break;
			(void)msg_address_each(f->raw, f->raw_len, mine_cb, &w, NULL);
		}
	if (!w.found) {
		*why_r = "the user is not among the recipients";
		return false;
	}
	/* the mark: this sender, this vacation (RFC 5230 4.2) */
	char *handle = NULL;
	if (v->handle != NULL)
		handle = xstrdup(v->handle);
	else
		handle = xasprintf("%.*s\x1f%s\x1f%s\x1f%d", (int)v->reason_len, v->reason,
				   v->subject ? v->subject : "", v->from ? v->from : "", v->mime);
	char *lsender = xstrdup(sender);
	for (char *p = lsender; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	sv_mark_key(mark_r, "vacation", lsender, handle);
	free(handle);
	bool seen = false;
	if (run->mark_check != NULL && run->mark_check(run->mark_ctx, mark_r, &seen) != 0) {
		free(lsender);
		sv_run_fail(run, SIEVE_EIO, "vacation: the tracking marks could not be read");
		return false;
	}
	if (seen) {
		free(lsender);
		*why_r = "already answered this sender";
		return false;
	}
	/* the reply */
	struct msg_buf b = { 0 };
	char date[64], mid[128];
	sv_date_rfc5322((int64_t)run->now, sv_local_zone((int64_t)run->now), date, sizeof(date));
	message_id(mid, sizeof(mid), run->hostname);
	const char *from = v->from != NULL ? v->from : d->user_address;
	msg_buf_printf(&b, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\n", date,
		       from != NULL ? from : "", sender);
	msg_buf_puts(&b, "Subject: ");
	if (v->subject != NULL) {
		sv_encode_header_value(v->subject, strlen(v->subject), &b);
	} else {
		const struct sv_field *s = sv_msg_field(m, "subject", 0);
		const char *orig = s != NULL ? s->value : "";
		char *subj = xasprintf("Auto: %s", orig);
		sv_encode_header_value(subj, strlen(subj), &b);
		free(subj);
	}
	msg_buf_puts(&b, "\r\n");
	const struct sv_field *omid = sv_msg_field(m, "message-id", 0);
	if (omid != NULL && omid->value_len > 0 && memchr(omid->value, '\n', omid->value_len) == NULL) {
		msg_buf_printf(&b, "In-Reply-To: %s\r\n", omid->value);
		const struct sv_field *refs = sv_msg_field(m, "references", 0);
		if (refs != NULL && refs->value_len < 4096)
			msg_buf_printf(&b, "References: %s %s\r\n", refs->value, omid->value);
		else
			msg_buf_printf(&b, "References: %s\r\n", omid->value);
	}
	msg_buf_printf(&b, "Message-ID: %s\r\nAuto-Submitted: auto-replied (vacation)\r\n"
		       "Precedence: bulk\r\nMIME-Version: 1.0\r\n", mid);
	if (v->mime) {
		/* :mime: the reason is a MIME entity, headers included */
		for (size_t i = 0; i < v->reason_len; i++) {
			if (v->reason[i] == '\n' && (i == 0 || v->reason[i - 1] != '\r'))
				msg_buf_putc(&b, '\r');
			msg_buf_putc(&b, v->reason[i]);
		}
	} else {
		msg_buf_puts(&b, "Content-Type: text/plain; charset=utf-8\r\n"
			     "Content-Transfer-Encoding: 8bit\r\n\r\n");
		for (size_t i = 0; i < v->reason_len; i++) {
			if (v->reason[i] == '\n' && (i == 0 || v->reason[i - 1] != '\r'))
				msg_buf_putc(&b, '\r');
			msg_buf_putc(&b, v->reason[i]);
		}
	}
	if (b.len < 2 || b.data[b.len - 1] != '\n')
		msg_buf_puts(&b, "\r\n");
	msg_buf_putc(&b, '\0');
	*msg_r = b.data;
	*to_r = lsender;
	return true;
}

char *sv_reject_notice(struct sv_msg *m, const char *user_address, const char *recipient,
		       const char *reason, const char *hostname, time_t now)
{
	struct msg_buf b = { 0 };
	char date[64], mid[128], boundary[64];
	sv_date_rfc5322((int64_t)now, sv_local_zone((int64_t)now), date, sizeof(date));
	message_id(mid, sizeof(mid), hostname);
	snprintf(boundary, sizeof(boundary), "loft-reject-%.24s", mid + 1);
	const struct sv_field *subj = sv_msg_field(m, "subject", 0);
	const struct sv_field *omid = sv_msg_field(m, "message-id", 0);
	msg_buf_printf(&b, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: ", date,
		       user_address != NULL ? user_address : "", recipient);
	char *s = xasprintf("Rejected: %s", subj != NULL ? subj->value : "");
	sv_encode_header_value(s, strlen(s), &b);
	free(s);
	msg_buf_printf(&b, "\r\nMessage-ID: %s\r\nAuto-Submitted: auto-replied (rejected)\r\n"
		       "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
		       "report-type=disposition-notification;\r\n boundary=\"%s\"\r\n\r\n"
		       "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\n\r\n"
		       "Your message was automatically rejected by Sieve, a mail filtering "
		       "language.\r\n\r\nThe following reason was given:\r\n",
		       mid, boundary, boundary);
	for (const char *p = reason; *p; p++) {
		if (*p == '\n' && (p == reason || p[-1] != '\r'))
			msg_buf_putc(&b, '\r');
		msg_buf_putc(&b, *p);
	}
	msg_buf_printf(&b, "\r\n\r\n--%s\r\nContent-Type: message/disposition-notification\r\n\r\n"
		       "Reporting-UA: %s; Loft Sieve\r\nFinal-Recipient: rfc822; %s\r\n",
		       boundary, hostname != NULL ? hostname : "localhost",
		       user_address != NULL ? user_address : "");
	if (omid != NULL && memchr(omid->value, '\n', omid->value_len) == NULL)
		msg_buf_printf(&b, "Original-Message-ID: %s\r\n", omid->value);
	msg_buf_printf(&b, "Disposition: automatic-action/MDN-sent-automatically; deleted\r\n"
		       "\r\n--%s--\r\n", boundary);
	msg_buf_putc(&b, '\0');
	return b.data;
}
