/* Unit tests of URL resolution (server/imap/url-fetch.c with urlauth.c)
 * against a real store: relative URLs against the selected mailbox (what
 * the selected-state code will give as base), UIDVALIDITY checks, URLAUTH
 * tokens made with the mailbox key (valid, tampered, other access, expired,
 * key reset), another user's mail only with URLAUTH, and a URL naming a
 * user who has no store (nothing is created for it). */
#include <sys/stat.h>

#include "lib/error.h"
#include "server/imap/url-fetch.h"
#include "server/imap/urlauth.h"
#include "store-fixture.h"

static const char *M1 = "From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n";

static struct imap_url_ctx ctx_for(struct fx *fx, struct store_user *self, const char *name)
{
	return (struct imap_url_ctx){ .store = fx->store, .self = self, .self_name = name,
				      .submit_user = "submitter", .now = time(NULL) };
}

/* Open url (as text) and read it all; NULL with *err_r on failure. */
static char *fetch(const struct imap_url_ctx *ctx, const char *text, bool need_urlauth,
		   int *err_r)
{
	struct imap_url url;
	const char *why;
	if (imap_url_parse(text, strlen(text), &url, &why) != 0) {
		*err_r = LOFT_EINVAL;
		return NULL;
	}
	struct imap_url_source *src;
	uint64_t size;
	*err_r = imap_url_open(ctx, text, strlen(text), &url, need_urlauth, &src, &size, &why);
	imap_url_free(&url);
	if (*err_r != 0)
		return NULL;
	char *out = xmalloc(size + 1);
	size_t have = 0, got;
	do {
		assert_int_equal(imap_url_read(src, out + have, size + 1 - have, &got), 0);
		have += got;
	} while (got > 0);
	assert_int_equal(have, size);
	out[have] = '\0';
	imap_url_close(&src);
	return out;
}

static void expect(const struct imap_url_ctx *ctx, const char *text, bool need, const char *want)
{
	int err;
	char *got = fetch(ctx, text, need, &err);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s: fetched %s", text, got);
		assert_int_equal(err, LOFT_ENOENT);
		return;
	}
	if (got == NULL)
		fail_msg("%s: error %d", text, err);
	assert_string_equal(got, want);
	free(got);
}

/* rump + ":INTERNAL:" + its token under owner's key for mailbox. */
static char *sign(struct store_user *owner, const char *mailbox, const char *rump)
{
	unsigned char key[STORE_MAILBOX_KEY_LEN];
	assert_int_equal(store_mailbox_key(owner, mailbox, true, key, NULL), STORE_OK);
	char token[IMAP_URLAUTH_TOKEN_LEN + 1];
	imap_urlauth_token(key, rump, strlen(rump), token);
	return xasprintf("%s:INTERNAL:%s", rump, token);
}

static void test_relative_urls(void **state)
{
	struct fx *fx = *state;
	uint32_t uid;
	assert_int_equal(try_append(fx->user, "INBOX", M1, strlen(M1), NULL, &uid, NULL), STORE_OK);
	uint32_t uidv = get_status(fx, "INBOX").uidvalidity;
	struct imap_url_ctx ctx = ctx_for(fx, fx->user, "alice");
	/* Nothing selected: a relative URL has no base. */
	expect(&ctx, ";UID=1/;SECTION=TEXT", false, NULL);
	ctx.base_mailbox = "INBOX";
	expect(&ctx, ";UID=1/;SECTION=TEXT", false, "body one\r\n");
	expect(&ctx, ";UID=1/;PARTIAL=6.3", false, "a@e");
	ctx.base_uidvalidity = uidv + 1;
	expect(&ctx, ";UID=1", false, NULL);
	ctx.base_uidvalidity = uidv;
	expect(&ctx, ";UID=1/;SECTION=HEADER", false, "From: a@example.org\r\nSubject: one\r\n\r\n");
	/* Absolute paths and full URLs of one's own mail need no URLAUTH,
	 * whatever the host; UIDVALIDITY must match. */
	char *u = xasprintf("/INBOX;UIDVALIDITY=%u/;UID=1/;SECTION=1", uidv);
	expect(&ctx, u, false, "body one\r\n");
	free(u);
	u = xasprintf("/INBOX;UIDVALIDITY=%u/;UID=1", uidv + 7);
	expect(&ctx, u, false, NULL);
	free(u);
	expect(&ctx, "imap://alice@anywhere.example/INBOX/;UID=1/;SECTION=1", false, "body one\r\n");
	/* URLFETCH wants URLAUTH. */
	expect(&ctx, "/INBOX/;UID=1", true, NULL);
	expect(&ctx, "/INBOX/;UID=2", false, NULL);
	expect(&ctx, "/INBOX", false, NULL);
}

static void test_urlauth(void **state)
{
	struct fx *fx = *state;
	uint32_t uid;
	assert_int_equal(try_append(fx->user, "INBOX", M1, strlen(M1), NULL, &uid, NULL), STORE_OK);
	struct store_user *bob;
	assert_int_equal(store_user_open(fx->store, "bob", &bob), STORE_OK);
	struct imap_url_ctx actx = ctx_for(fx, fx->user, "alice");
	struct imap_url_ctx bctx = ctx_for(fx, bob, "bob");
	struct imap_url_ctx sctx = ctx_for(fx, bob, "submitter");

	char *anon = sign(fx->user, "INBOX", "imap://alice@h/INBOX/;UID=1;URLAUTH=anonymous");
	char *to_bob = sign(fx->user, "INBOX", "imap://alice@h/INBOX/;UID=1/;SECTION=TEXT"
						";URLAUTH=user+bob");
	char *submit = sign(fx->user, "INBOX", "imap://alice@h/INBOX/;UID=1;URLAUTH=submit+alice");
	char *expired = sign(fx->user, "INBOX", "imap://alice@h/INBOX/;UID=1"
						 ";EXPIRE=2000-01-01T00:00:00Z;URLAUTH=anonymous");
	expect(&bctx, anon, true, M1);
	expect(&bctx, to_bob, true, "body one\r\n");
	expect(&actx, to_bob, true, NULL);       /* user+bob: not alice */
	expect(&bctx, submit, true, NULL);
	expect(&sctx, submit, true, M1);         /* the submission user */
	expect(&bctx, expired, true, NULL);
	/* Tampered: another UID under the same token, a changed digit. */
	char *other = xstrdup(anon);
	other[strstr(other, ";UID=1") - other + 5] = '2';
	expect(&bctx, other, true, NULL);
	free(other);
	other = xstrdup(anon);
	other[strlen(other) - 1] = other[strlen(other) - 1] == '0' ? '1' : '0';
	expect(&bctx, other, true, NULL);
	free(other);
	/* Another user's mail without URLAUTH: no. */
	expect(&bctx, "imap://alice@h/INBOX/;UID=1", false, NULL);
	/* A reset key voids every token. */
	assert_int_equal(store_mailbox_key_reset(fx->user, "INBOX"), STORE_OK);
	expect(&bctx, anon, true, NULL);
	/* A user without a store: refused, and nothing is created. */
	char *ghost = xasprintf("imap://ghost@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:%040d", 0);
	expect(&bctx, ghost, true, NULL);
	char path[700];
	snprintf(path, sizeof(path), "%s/ghost", fx->mail_dir);
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	free(ghost);
	free(anon);
	free(to_bob);
	free(submit);
	free(expired);
	store_user_close(&bob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relative_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_urlauth, setup, teardown),
	};
	return FX_RUN("imap-urlfetch", tests);
}
