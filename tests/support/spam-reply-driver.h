/* Split-point drivers for rspamd's reply readers (server/spam/json.c,
 * http.c, result.c), shared by tests/unit/test-spam-reply.c and
 * tests/fuzz/fuzz-rspamd-reply.c: each turns what a reader reported into a
 * transcript, so the split driver (split.h) can check that every cut of the
 * input gives the same one. Every piece is fed from an exact-size heap copy
 * (a read past the given length trips ASan). Header-only. */
#ifndef LOFT_TESTS_SPAM_REPLY_DRIVER_H
#define LOFT_TESTS_SPAM_REPLY_DRIVER_H

#include "server/spam/http.h"
#include "server/spam/json.h"
#include "server/spam/result.h"
#include "tests/support/split.h"

/* ---- the JSON reader alone: one line per event ---- */

struct json_drv {
	struct spam_json json;
	struct split_out out;
};

static inline int json_drv_event(void *ctx, enum spam_json_event ev, unsigned depth,
				 const char *text, size_t len, bool cut)
{
	struct json_drv *d = ctx;
	static const char *const names[] = { "{", "}", "[", "]", "key", "str", "num", "true",
					     "false", "null" };
	split_out_printf(&d->out, "%s@%u%s:", names[ev], depth, cut ? "(cut)" : "");
	split_out_put(&d->out, text, len);
	split_out_str(&d->out, "\n");
	return 0;
}

static inline void *json_drv_start(const void *arg)
{
	(void)arg;
	struct json_drv *d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	spam_json_init(&d->json, json_drv_event, d);
	return d;
}

static inline void json_drv_feed(void *drv, const char *p, size_t n)
{
	struct json_drv *d = drv;
	char *copy = split_alloc_(n);
	memcpy(copy, p, n);
	spam_json_feed(&d->json, copy, n);
	free(copy);
}

static inline char *json_drv_finish(void *drv, size_t *len_r)
{
	struct json_drv *d = drv;
	split_out_printf(&d->out, "end:%s\n", spam_json_strerror(spam_json_finish(&d->json)));
	char *s = d->out.buf;
	*len_r = d->out.len;
	free(d);
	return s;
}

static const struct split_target json_target = { json_drv_start, json_drv_feed,
						 json_drv_finish };

/* ---- an HTTP response carrying a check reply ---- */

struct reply_drv {
	struct spam_http http;
	struct spam_result_reader reader;
	struct spam_result res;
	enum spam_http_result hr;
	size_t extra;             /* bytes after the response */
	int json_err;
};

static inline int reply_drv_sink(void *ctx, const char *data, size_t len)
{
	struct reply_drv *d = ctx;
	d->json_err = spam_result_feed(&d->reader, data, len);
	return d->json_err != 0 ? -1 : 0;
}

static inline void *reply_drv_start(const void *arg)
{
	const uint64_t *max_body = arg;
	struct reply_drv *d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	spam_http_init(&d->http, max_body != NULL ? *max_body : 1 << 20, reply_drv_sink, d);
	spam_result_reader_init(&d->reader, &d->res);
	return d;
}

static inline void reply_drv_feed(void *drv, const char *p, size_t n)
{
	struct reply_drv *d = drv;
	char *copy = split_alloc_(n);
	memcpy(copy, p, n);
	size_t used = 0;
	d->hr = spam_http_feed(&d->http, copy, n, &used);
	if (used > n)
		abort();
	d->extra += n - used;
	free(copy);
}

/* The transcript of a finished reply (also used by the tests to look at
 * the fields). */
static inline char *reply_drv_finish(void *drv, size_t *len_r)
{
	struct reply_drv *d = drv;
	struct split_out o = { 0 };
	if (d->hr == SPAM_HTTP_NEED_MORE)
		d->hr = spam_http_eof(&d->http);
	/* after a failure the bytes counted depend on where the input was cut
	 * (the body sink fails inside a chunk): only a success has them */
	bool ok = d->hr == SPAM_HTTP_DONE;
	split_out_printf(&o, "http=%d status=%d keep=%d body=%llu extra=%zu err=%s\n", d->hr,
			 d->http.status, d->http.keep_alive,
			 ok ? (unsigned long long)d->http.body_len : 0ull, ok ? d->extra : 0,
			 spam_http_strerror(d->http.error));
	if (d->hr == SPAM_HTTP_DONE && d->json_err == 0)
		d->json_err = spam_result_finish(&d->reader, true);
	split_out_printf(&o, "json=%s\n", spam_json_strerror(d->json_err));
	if (d->hr == SPAM_HTTP_DONE && d->json_err == 0) {
		const struct spam_result *r = &d->res;
		split_out_printf(&o, "action=%s(%s) score=%.3f required=%.3f skipped=%d\n",
				 spam_action_name(r->action), r->action_text, r->score,
				 r->required, r->skipped);
		for (unsigned i = 0; i < r->n_symbols; i++)
			split_out_printf(&o, "sym %s %.3f\n", r->symbols[i].name,
					 r->symbols[i].score);
		split_out_printf(&o, "seen=%u msg=%s success=%d error=%s\n", r->symbols_seen,
				 r->smtp_message, r->success, r->error);
	}
	free(d);
	*len_r = o.len;
	return o.buf;
}

static const struct split_target reply_target = { reply_drv_start, reply_drv_feed,
						  reply_drv_finish };

#endif
