/* Unit tests of server/dns/: the reply parser on hand-built messages
 * (every record type, CNAME chains, multi-string TXT, compression, RCODEs,
 * the negative TTL from the SOA, truncation and malformed replies, and
 * every prefix of a valid reply), the name helpers, the answer cache (TTL,
 * cap, least recently used, what is never kept), and the resolver itself
 * on a libuv loop against a small UDP responder on loopback: answers,
 * cache hits, SERVFAIL, a silent server ending in "timeout" within its
 * bound, cancellation, no handle left while idle, the per-loop resolver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/xmem.h"
#include "server/dns/dns-private.h"
#include "server/dns/dns.h"

/* ---- building replies ---- */

struct wire {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct wire *w, unsigned v)
{
	w->b[w->n++] = (uint8_t)v;
}

static void put16(struct wire *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v & 0xff);
}

static void put32(struct wire *w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, v & 0xffff);
}

static void put_name(struct wire *w, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		put8(w, (unsigned)l);
		memcpy(w->b + w->n, name, l);
		w->n += l;
		name += l + (dot ? 1 : 0);
	}
	put8(w, 0);
}

static void header(struct wire *w, unsigned rcode, unsigned an, unsigned ns, const char *q,
		   unsigned qtype)
{
	w->n = 0;
	put16(w, 0x1234);
	put16(w, 0x8180 | rcode);
	put16(w, 1);
	put16(w, an);
	put16(w, ns);
	put16(w, 0);
	put_name(w, q);
	put16(w, qtype);
	put16(w, 1);
}

/* An RR whose owner is a pointer to the question's name (offset 12). */
static size_t rr_start(struct wire *w, const char *owner, unsigned type, uint32_t ttl)
{
	if (owner == NULL) {
		put16(w, 0xc00c);
	} else {
		put_name(w, owner);
	}
	put16(w, type);
	put16(w, 1);
	put32(w, ttl);
	put16(w, 0);   /* rdlength, patched */
	return w->n;
}

static void rr_end(struct wire *w, size_t start)
{
	size_t len = w->n - start;
	w->b[start - 2] = (uint8_t)(len >> 8);
	w->b[start - 1] = (uint8_t)len;
}

static void test_parse_records(void **state)
{
	(void)state;
	struct wire w;
	/* A, two records, the smaller TTL wins */
	header(&w, 0, 2, 0, "a.test", DNS_T_A);
	size_t s = rr_start(&w, NULL, DNS_T_A, 300);
	put32(&w, 0xc0000201);
	rr_end(&w, s);
	s = rr_start(&w, NULL, DNS_T_A, 60);
	put32(&w, 0xc0000202);
	rr_end(&w, s);
	struct dns_answer *a = dns_msg_parse(w.b, w.n, "A.Test.", DNS_T_A);
	assert_int_equal(a->status, DNS_ANSWER);
	assert_int_equal(a->n, 2);
	assert_int_equal(a->ttl, 60);
	assert_int_equal(a->rr[1].u.a[3], 2);
	dns_answer_free(&a);

	/* TXT: strings joined; MX and CNAME with compression; CNAME chain */
	header(&w, 0, 3, 0, "alias.test", DNS_T_TXT);
	s = rr_start(&w, NULL, DNS_T_CNAME, 100);
	put_name(&w, "Mid.Test");
	rr_end(&w, s);
	s = rr_start(&w, "mid.test", DNS_T_CNAME, 100);
	put_name(&w, "real.test");
	rr_end(&w, s);
	s = rr_start(&w, "REAL.test", DNS_T_TXT, 50);
	put8(&w, 6);
	memcpy(w.b + w.n, "v=spf1", 6);
	w.n += 6;
	put8(&w, 5);
	memcpy(w.b + w.n, " -all", 5);
	w.n += 5;
	put8(&w, 0);
	rr_end(&w, s);
	a = dns_msg_parse(w.b, w.n, "alias.test", DNS_T_TXT);
	assert_int_equal(a->status, DNS_ANSWER);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->rr[0].u.txt.len, 11);
	assert_string_equal(a->rr[0].u.txt.data, "v=spf1 -all");
	assert_int_equal(a->ttl, 50);
	dns_answer_free(&a);

	header(&w, 0, 1, 0, "mx.test", DNS_T_MX);
	s = rr_start(&w, NULL, DNS_T_MX, 100);
	put16(&w, 10);
	put8(&w, 4);
	memcpy(w.b + w.n, "MAIL", 4);
	w.n += 4;
	put16(&w, 0xc00c);   /* "mail" + pointer to "mx.test" */
	rr_end(&w, s);
	a = dns_msg_parse(w.b, w.n, "mx.test", DNS_T_MX);
	assert_int_equal(a->status, DNS_ANSWER);
	assert_int_equal(a->rr[0].u.mx.pref, 10);
	assert_string_equal(a->rr[0].u.mx.host, "mail.mx.test");
	struct dns_answer *d = dns_answer_dup(a);
	dns_answer_free(&a);
	assert_string_equal(d->rr[0].u.mx.host, "mail.mx.test");
	dns_answer_free(&d);

	header(&w, 0, 1, 0, "1.2.0.192.in-addr.arpa", DNS_T_PTR);
	s = rr_start(&w, NULL, DNS_T_PTR, 100);
	put_name(&w, "host.example.org");
	rr_end(&w, s);
	a = dns_msg_parse(w.b, w.n, "1.2.0.192.in-addr.arpa", DNS_T_PTR);
	assert_string_equal(a->rr[0].u.name, "host.example.org");
	dns_answer_free(&a);

	header(&w, 0, 1, 0, "v6.test", DNS_T_AAAA);
	s = rr_start(&w, NULL, DNS_T_AAAA, 100);
	for (int i = 0; i < 16; i++)
		put8(&w, (unsigned)i);
	rr_end(&w, s);
	a = dns_msg_parse(w.b, w.n, "v6.test", DNS_T_AAAA);
	assert_int_equal(a->rr[0].u.aaaa[15], 15);
	dns_answer_free(&a);
}

static void test_parse_negative_and_errors(void **state)
{
	(void)state;
	struct wire w;
	/* NXDOMAIN with an SOA: TTL = min(SOA TTL, MINIMUM) */
	header(&w, 3, 0, 1, "none.test", DNS_T_TXT);
	size_t s = rr_start(&w, "test", DNS_T_SOA, 900);
	put_name(&w, "ns.test");
	put_name(&w, "host.test");
	for (int i = 0; i < 4; i++)
		put32(&w, 1000);
	put32(&w, 120);
	rr_end(&w, s);
	struct dns_answer *a = dns_msg_parse(w.b, w.n, "none.test", DNS_T_TXT);
	assert_int_equal(a->status, DNS_NXDOMAIN);
	assert_int_equal(a->ttl, 120);
	dns_answer_free(&a);
	/* every prefix of that reply: parsed or refused, never read past */
	for (size_t n = 0; n < w.n; n++) {
		uint8_t *copy = xmalloc(n ? n : 1);
		memcpy(copy, w.b, n);
		a = dns_msg_parse(copy, n, "none.test", DNS_T_TXT);
		assert_true(a->status == DNS_TEMPFAIL || a->status == DNS_NXDOMAIN);
		dns_answer_free(&a);
		free(copy);
	}
	/* NODATA: an answer of another type only */
	header(&w, 0, 1, 0, "a.test", DNS_T_TXT);
	s = rr_start(&w, NULL, DNS_T_A, 300);
	put32(&w, 1);
	rr_end(&w, s);
	a = dns_msg_parse(w.b, w.n, "a.test", DNS_T_TXT);
	assert_int_equal(a->status, DNS_NODATA);
	dns_answer_free(&a);
	static const struct { unsigned rcode; const char *why; } rc[] = {
		{ 2, "SERVFAIL" }, { 5, "REFUSED" }, { 1, "FORMERR" }, { 4, "NOTIMP" }, { 9, "RCODE" },
	};
	for (size_t i = 0; i < sizeof(rc) / sizeof(rc[0]); i++) {
		header(&w, rc[i].rcode, 0, 0, "x.test", DNS_T_A);
		a = dns_msg_parse(w.b, w.n, "x.test", DNS_T_A);
		assert_int_equal(a->status, DNS_TEMPFAIL);
		assert_string_equal(a->why, rc[i].why);
		dns_answer_free(&a);
	}
	header(&w, 0, 0, 0, "x.test", DNS_T_A);
	w.b[2] |= 0x02;   /* TC */
	a = dns_msg_parse(w.b, w.n, "x.test", DNS_T_A);
	assert_string_equal(a->why, "truncated");
	dns_answer_free(&a);
	/* compression pointers must point backwards: a loop is refused */
	header(&w, 0, 1, 0, "x.test", DNS_T_PTR);
	s = rr_start(&w, NULL, DNS_T_PTR, 100);
	put16(&w, (unsigned)(0xc000 | w.n));   /* points at itself */
	rr_end(&w, s);
	a = dns_msg_parse(w.b, w.n, "x.test", DNS_T_PTR);
	assert_int_equal(a->status, DNS_TEMPFAIL);
	assert_string_equal(a->why, "bad reply");
	dns_answer_free(&a);
	/* a TXT string longer than its record */
	header(&w, 0, 1, 0, "x.test", DNS_T_TXT);
	s = rr_start(&w, NULL, DNS_T_TXT, 100);
	put8(&w, 200);
	put8(&w, 'x');
	rr_end(&w, s);
	a = dns_msg_parse(w.b, w.n, "x.test", DNS_T_TXT);
	assert_string_equal(a->why, "bad reply");
	dns_answer_free(&a);
	/* not a reply */
	header(&w, 0, 0, 0, "x.test", DNS_T_A);
	w.b[2] &= 0x7f;
	a = dns_msg_parse(w.b, w.n, "x.test", DNS_T_A);
	assert_int_equal(a->status, DNS_TEMPFAIL);
	dns_answer_free(&a);
}

static void test_names(void **state)
{
	(void)state;
	char label64[80];
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".test");
	assert_true(dns_name_valid("example.org"));
	assert_true(dns_name_valid("example.org."));
	assert_false(dns_name_valid(""));
	assert_false(dns_name_valid("a..b"));
	assert_false(dns_name_valid(".a"));
	assert_false(dns_name_valid(label64));
	assert_true(dns_name_eq("Example.ORG.", "example.org"));
	assert_false(dns_name_eq("example.org", "example.or"));
	char out[DNS_REVERSE_MAX];
	uint8_t v4[4] = { 192, 0, 2, 1 };
	dns_reverse_name(4, v4, out);
	assert_string_equal(out, "1.2.0.192.in-addr.arpa");
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0xab };
	dns_reverse_name(6, v6, out);
	assert_string_equal(out, "b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

static void test_cache(void **state)
{
	(void)state;
	struct dns_rr rr = { .type = DNS_T_A, .ttl = 10, .u.a = { 1, 2, 3, 4 } };
	struct dns_answer *a = dns_answer_make(DNS_ANSWER, DNS_T_A, 10, NULL, &rr, 1);
	struct dns_cache *c = dns_cache_new(2, 5);
	dns_cache_put(c, "One.test.", DNS_T_A, a, 1000);
	assert_non_null(dns_cache_get(c, "one.test", DNS_T_A, 1000));
	assert_null(dns_cache_get(c, "one.test", DNS_T_AAAA, 1000));
	/* capped at cache_max_ttl (5 s) rather than the TTL (10 s) */
	assert_non_null(dns_cache_get(c, "one.test", DNS_T_A, 5999));
	assert_null(dns_cache_get(c, "one.test", DNS_T_A, 6000));
	assert_int_equal(dns_cache_count(c), 0);
	/* least recently used goes first */
	dns_cache_put(c, "a.test", DNS_T_A, a, 0);
	dns_cache_put(c, "b.test", DNS_T_A, a, 0);
	assert_non_null(dns_cache_get(c, "a.test", DNS_T_A, 1));
	dns_cache_put(c, "c.test", DNS_T_A, a, 1);
	assert_int_equal(dns_cache_count(c), 2);
	assert_null(dns_cache_get(c, "b.test", DNS_T_A, 1));
	assert_non_null(dns_cache_get(c, "a.test", DNS_T_A, 1));
	/* temporary failures and TTL 0 are not kept */
	struct dns_answer *t = dns_answer_status(DNS_TEMPFAIL, DNS_T_A, "timeout");
	t->ttl = 100;
	dns_cache_put(c, "t.test", DNS_T_A, t, 1);
	assert_null(dns_cache_get(c, "t.test", DNS_T_A, 1));
	struct dns_answer *z = dns_answer_status(DNS_NXDOMAIN, DNS_T_A, NULL);
	dns_cache_put(c, "z.test", DNS_T_A, z, 1);
	assert_null(dns_cache_get(c, "z.test", DNS_T_A, 1));
	z->ttl = 30;
	dns_cache_put(c, "z.test", DNS_T_A, z, 1);
	assert_int_equal(dns_cache_get(c, "z.test", DNS_T_A, 1)->status, DNS_NXDOMAIN);
	dns_cache_free(&c);
	c = dns_cache_new(0, 5);
	dns_cache_put(c, "a.test", DNS_T_A, a, 0);
	assert_null(dns_cache_get(c, "a.test", DNS_T_A, 0));
	dns_cache_free(&c);
	dns_answer_free(&a);
	dns_answer_free(&t);
	dns_answer_free(&z);
}

/* ---- the resolver against a UDP responder on the same loop ---- */

static uv_udp_t server;
static unsigned server_queries;

static void alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	(void)h;
	buf->base = xmalloc(size);
	buf->len = size;
}

static void sent_cb(uv_udp_send_t *req, int status)
{
	(void)status;
	free(req->data);
	free(req);
}

static void on_query(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	(void)flags;
	if (n <= 12 || addr == NULL) {
		free(buf->base);
		return;
	}
	server_queries++;
	const uint8_t *q = (const uint8_t *)buf->base;
	char name[256] = "";
	size_t off = 12, o = 0;
	while (off < (size_t)n && q[off] != 0 && o < 200) {
		if (o)
			name[o++] = '.';
		memcpy(name + o, q + off + 1, q[off]);
		o += q[off];
		off += q[off] + 1;
	}
	name[o] = '\0';
	size_t qend = off + 5;
	if (strcmp(name, "silent.test") == 0) {
		free(buf->base);
		return;
	}
	struct wire *w = xcalloc(1, sizeof(*w));
	memcpy(w->b, q, qend);
	w->n = qend;
	w->b[2] = 0x81;
	w->b[3] = 0x80;
	w->b[10] = w->b[11] = 0;   /* no additional (EDNS) records */
	if (strcmp(name, "fail.test") == 0) {
		w->b[3] |= 2;
	} else if (strcmp(name, "a.test") == 0) {
		w->b[7] = 1;
		size_t s = rr_start(w, NULL, DNS_T_A, 60);
		put32(w, 0xc0000201);
		rr_end(w, s);
	} else {
		w->b[3] |= 3;
	}
	uv_udp_send_t *req = xmalloc(sizeof(*req));
	req->data = w;
	uv_buf_t out = uv_buf_init((char *)w->b, (unsigned)w->n);
	uv_udp_send(req, h, &out, 1, addr, sent_cb);
	free(buf->base);
}

struct got {
	int calls;
	enum dns_status status;
	char why[32];
	uint64_t at;
};

static uv_loop_t *the_loop;

static void got_cb(void *arg, const struct dns_answer *a)
{
	struct got *g = arg;
	g->calls++;
	g->status = a->status;
	snprintf(g->why, sizeof(g->why), "%s", a->why ? a->why : "");
	g->at = uv_now(the_loop);
}

static void wake_cb(uv_timer_t *t)
{
	(*(int *)t->data)++;
}

static void run_until(uv_loop_t *loop, int *calls, int want)
{
	uint64_t start = uv_now(loop);
	while (*calls < want && uv_now(loop) - start < 5000)
		uv_run(loop, UV_RUN_ONCE);
}

static void test_resolver(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	the_loop = &loop;
	uv_udp_init(&loop, &server);
	struct sockaddr_in sin;
	uv_ip4_addr("127.0.0.1", 0, &sin);
	assert_int_equal(uv_udp_bind(&server, (struct sockaddr *)&sin, 0), 0);
	int len = sizeof(sin);
	uv_udp_getsockname(&server, (struct sockaddr *)&sin, &len);
	uv_udp_recv_start(&server, alloc_cb, on_query);

	struct dns_config cfg = { "127.0.0.1", ntohs(sin.sin_port), 200, 1, 16, 3600 };
	struct dns_resolver *r = NULL;
	char *err = NULL;
	assert_int_equal(dns_resolver_new(&loop, &cfg, &r, &err), 0);
	struct dns_query *q = NULL;
	const struct dns_answer *now = NULL;
	struct got g = { 0 };

	assert_int_equal(dns_lookup(r, "a.test", DNS_T_A, got_cb, &g, &q, &now), 0);
	assert_non_null(q);
	run_until(&loop, &g.calls, 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, DNS_ANSWER);
	/* the second time from the cache, at once */
	assert_int_equal(dns_lookup(r, "A.TEST", DNS_T_A, got_cb, &g, &q, &now), 1);
	assert_int_equal(now->status, DNS_ANSWER);
	assert_int_equal(now->rr[0].u.a[3], 1);
	/* an invalid name fails at once */
	assert_int_equal(dns_lookup(r, "a..test", DNS_T_A, got_cb, &g, &q, &now), 1);
	assert_int_equal(now->status, DNS_TEMPFAIL);
	/* NXDOMAIN (cached by its SOA TTL when there is one: none here) */
	memset(&g, 0, sizeof(g));
	dns_lookup(r, "missing.test", DNS_T_TXT, got_cb, &g, &q, &now);
	run_until(&loop, &g.calls, 1);
	assert_int_equal(g.status, DNS_NXDOMAIN);
	memset(&g, 0, sizeof(g));
	dns_lookup(r, "fail.test", DNS_T_A, got_cb, &g, &q, &now);
	run_until(&loop, &g.calls, 1);
	assert_int_equal(g.status, DNS_TEMPFAIL);
	assert_string_equal(g.why, "SERVFAIL");

	/* a silent server: "timeout" within timeout * (retries + 1) */
	memset(&g, 0, sizeof(g));
	uv_update_time(&loop);
	uint64_t t0 = uv_now(&loop);
	dns_lookup(r, "silent.test", DNS_T_TXT, got_cb, &g, &q, &now);
	run_until(&loop, &g.calls, 1);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, DNS_TEMPFAIL);
	assert_string_equal(g.why, "timeout");
	assert_true(g.at - t0 >= 390 && g.at - t0 <= 700);

	/* a cancelled query never calls back */
	struct got g2 = { 0 };
	struct dns_query *q2 = NULL;
	dns_lookup(r, "silent.test", DNS_T_A, got_cb, &g2, &q2, &now);
	dns_cancel(&q2);
	assert_null(q2);
	uv_timer_t wait;
	int fired = 0;
	uv_timer_init(&loop, &wait);
	wait.data = &fired;
	uv_timer_start(&wait, wake_cb, 600, 0);
	run_until(&loop, &fired, 1);
	uv_close((uv_handle_t *)&wait, NULL);
	assert_int_equal(g2.calls, 0);

	/* idle: no handle left; counters */
	struct dns_stats st;
	dns_resolver_stats(r, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.handles, 0);
	assert_int_equal(st.cache_hits, 1);
	assert_true(st.timeouts >= 1);
	dns_resolver_free(&r);

	/* the per-loop resolver: one per loop thread, a new one for a new
	 * configuration */
	struct dns_resolver *l1 = dns_loop_resolver(&loop, &cfg, &err);
	assert_non_null(l1);
	assert_ptr_equal(dns_loop_resolver(&loop, &cfg, &err), l1);
	cfg.timeout_ms = 300;
	assert_non_null(dns_loop_resolver(&loop, &cfg, &err));
	dns_loop_resolver_end();

	uv_close((uv_handle_t *)&server, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_records),
		cmocka_unit_test(test_parse_negative_and_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_resolver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
