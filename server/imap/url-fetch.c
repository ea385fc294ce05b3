/* Opening what an IMAP URL names (see url-fetch.h): the checks in the
 * order a refusal should be decided (cheap and syntactic first, then the
 * owner's store, the key, the mailbox, the message), and the source that
 * holds the owner's store, the mailbox and the section reader until it is
 * closed. */
#include "server/imap/url-fetch.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "lib/error.h"
#include "lib/xmem.h"
#include "server/imap/section-read.h"
#include "server/imap/urlauth.h"
#include "storage/store.h"

struct imap_url_source {
	struct store_user *owner;        /* opened here (another user), else NULL */
	struct store_mailbox *mbox;
	struct imap_section_reader *reader;
};

static int refuse(const char **why_r, const char *why)
{
	*why_r = why;
	return LOFT_ENOENT;
}

static int store_err(int err, const char **why_r, const char *what)
{
	if (err == STORE_ENOTFOUND || err == STORE_EINVALID)
		return refuse(why_r, what);
	*why_r = store_strerror(err);
	return LOFT_EIO;
}

/* The URLAUTH checks of RFC 4467 6: a token of a mechanism we know, an
 * access identifier that lets the user in, not expired, made with the
 * current key of the owner's mailbox. */
static int check_urlauth(const struct imap_url_ctx *ctx, const char *raw,
			 const struct imap_url *url, struct store_user *owner,
			 const char *mailbox, const char **why_r)
{
	if (url->token == NULL)
		return refuse(why_r, "URLAUTH without a token");
	if (strcmp(url->mechanism, IMAP_URLAUTH_MECH) != 0)
		return refuse(why_r, "unknown URLAUTH mechanism");
	if (!imap_urlauth_access_ok(url, ctx->self_name, ctx->submit_user))
		return refuse(why_r, "URLAUTH access identifier does not allow this user");
	if (url->has_expire && ctx->now >= url->expire)
		return refuse(why_r, "URLAUTH expired");
	unsigned char key[STORE_MAILBOX_KEY_LEN];
	int err = store_mailbox_key(owner, mailbox, false, key, NULL);
	if (err != STORE_OK)
		return store_err(err, why_r, "no URLAUTH key for the mailbox");
	bool ok = imap_urlauth_verify(key, raw, url->rump_len, url->token);
	OPENSSL_cleanse(key, sizeof(key));
	return ok ? 0 : refuse(why_r, "URLAUTH token does not verify");
}

int imap_url_open(const struct imap_url_ctx *ctx, const char *raw, size_t raw_len,
		  const struct imap_url *url, bool need_urlauth,
		  struct imap_url_source **src_r, uint64_t *size_r, const char **why_r)
{
	*src_r = NULL;
	*why_r = NULL;
	(void)raw_len;
	if (!imap_url_is_message(url))
		return refuse(why_r, "URL names no message");
	bool server = url->form == IMAP_URL_FULL || url->form == IMAP_URL_NETWORK;
	if (url->access != IMAP_URL_ACCESS_NONE && (!server || url->user == NULL))
		return refuse(why_r, "URLAUTH URL without imap://user@host");
	if (need_urlauth && url->access == IMAP_URL_ACCESS_NONE)
		return refuse(why_r, "URL without URLAUTH");
	bool self = !server || url->user == NULL || imap_url_user_is(url, ctx->self_name);
	if (!self && url->access == IMAP_URL_ACCESS_NONE)
		return refuse(why_r, "another user's mail needs URLAUTH");
	const char *mailbox = url->mailbox;
	uint32_t uidvalidity = url->uidvalidity;
	if (mailbox == NULL) {
		if (ctx->base_mailbox == NULL)
			return refuse(why_r, "relative URL without a selected mailbox");
		mailbox = ctx->base_mailbox;
		if (uidvalidity == 0)
			uidvalidity = ctx->base_uidvalidity;
	}
	struct imap_section sec;
	if (imap_section_parse(url->section ? url->section : "",
			       url->section ? strlen(url->section) : 0, &sec) != 0)
		return refuse(why_r, "invalid ;SECTION=");

	struct imap_url_source *src = xcalloc(1, sizeof(*src));
	struct store_user *owner = ctx->self;
	int err = 0;
	if (!self) {
		/* The URL's user as written, else with the host as domain. */
		int e = store_user_open_existing(ctx->store, url->user, &src->owner);
		if (e == STORE_ENOTFOUND && url->host != NULL && strchr(url->user, '@') == NULL) {
			char *full = xasprintf("%s@%s", url->user, url->host);
			e = store_user_open_existing(ctx->store, full, &src->owner);
			free(full);
		}
		err = e != 0 ? store_err(e, why_r, "no such user") : 0;
		owner = src->owner;
	}
	if (err == 0 && url->access != IMAP_URL_ACCESS_NONE)
		err = check_urlauth(ctx, raw, url, owner, mailbox, why_r);
	if (err == 0) {
		int e = store_mailbox_open(owner, mailbox, true, &src->mbox);
		err = e != 0 ? store_err(e, why_r, "no such mailbox") : 0;
	}
	if (err == 0 && uidvalidity != 0) {
		struct store_status st;
		int e = store_mailbox_status(src->mbox, &st);
		if (e != 0)
			err = store_err(e, why_r, "no such mailbox");
		else if (st.uidvalidity != uidvalidity)
			err = refuse(why_r, "UIDVALIDITY differs");
	}
	if (err == 0) {
		err = imap_section_open(src->mbox, url->uid, &sec, url->partial_offset,
					url->partial_length, &src->reader, size_r);
		if (err == LOFT_ENOENT)
			*why_r = "no such message or section";
		else if (err != 0)
			*why_r = "cannot read the message";
	}
	imap_section_free(&sec);
	if (err != 0) {
		imap_url_close(&src);
		return err;
	}
	*src_r = src;
	return 0;
}

bool imap_url_user_is(const struct imap_url *url, const char *login)
{
	if (url->user == NULL || login == NULL)
		return false;
	if (strcmp(url->user, login) == 0)
		return true;
	if (strchr(url->user, '@') != NULL)
		return false;
	size_t n = strlen(url->user);
	if (strncmp(login, url->user, n) != 0 || login[n] != '@')
		return false;
	/* login is <user>@<domain>: the URL's host as the domain, or any
	 * (the login's local part on this server is this login). */
	return true;
}

int imap_url_read(struct imap_url_source *src, char *buf, size_t cap, size_t *got_r)
{
	return imap_section_read(src->reader, buf, cap, got_r);
}

void imap_url_close(struct imap_url_source **srcp)
{
	struct imap_url_source *src = *srcp;
	if (src == NULL)
		return;
	imap_section_close(&src->reader);
	store_mailbox_close(&src->mbox);
	store_user_close(&src->owner);
	free(src);
	*srcp = NULL;
}
