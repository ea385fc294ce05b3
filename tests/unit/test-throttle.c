/* Unit tests for auth/throttle.c: the exponential, capped delay; refusal
 * after the configured counts and its end; forgetting; success resetting;
 * networks by IPv4/IPv6 prefix (IPv4-mapped IPv6 as IPv4); bounded memory
 * under a flood of random addresses and names (the bound is proved, and a
 * refused address survives the flood); and many threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth/throttle.h"

static struct throttle_settings base_settings(void)
{
	struct throttle_settings s;
	throttle_settings_default(&s);
	s.delay_base_ms = 100;
	s.delay_max_ms = 1000;
	s.addr_limit = 0;
	s.user_limit = 0;
	s.block_ms = 60000;
	s.forget_ms = 600000;
	s.entries = 4096;
	return s;
}

static void test_defaults(void **state)
{
	(void)state;
	struct throttle_settings s;
	throttle_settings_default(&s);
	assert_int_equal(s.delay_base_ms, 1000);
	assert_int_equal(s.delay_max_ms, 15000);
	assert_int_equal(s.addr_limit, 20);
	assert_int_equal(s.user_limit, 10);
	assert_int_equal(s.ipv6_prefix, 64);
	assert_int_equal(s.ipv4_prefix, 32);
	uint64_t a = throttle_now_ms(), b = throttle_now_ms();
	assert_true(b >= a);
}

static void test_delay_grows_and_caps(void **state)
{
	(void)state;
	struct throttle_settings s = base_settings();
	struct throttle *t = throttle_create(&s);
	static const unsigned want[] = { 100, 200, 400, 800, 1000, 1000, 1000 };
	uint64_t now = 1000000;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(throttle_failure(t, "192.0.2.1", "alice", now + i), want[i]);
	/* the delay follows the worse of address and user */
	assert_int_equal(throttle_failure(t, "198.51.100.1", "alice", now + 10), 1000);
	assert_int_equal(throttle_failure(t, "198.51.100.1", "bob", now + 11), 200);
	assert_int_equal(throttle_failure(t, NULL, "carol", now + 12), 100);
	assert_int_equal(throttle_failure(t, "203.0.113.5", NULL, now + 13), 100);
	assert_int_equal(throttle_failure(t, NULL, NULL, now + 14), 0);
	/* nothing refuses without limits */
	unsigned retry = 99;
	assert_int_equal(throttle_check(t, "192.0.2.1", "alice", now + 20, &retry), 0);
	assert_int_equal(retry, 0);
	throttle_free(&t);
	assert_null(t);
	/* no delay configured */
	s.delay_base_ms = 0;
	t = throttle_create(&s);
	assert_int_equal(throttle_failure(t, "192.0.2.1", "alice", now), 0);
	throttle_free(&t);
}

static void test_refusal_and_expiry(void **state)
{
	(void)state;
	struct throttle_settings s = base_settings();
	s.addr_limit = 5;
	s.user_limit = 3;
	struct throttle *t = throttle_create(&s);
	uint64_t now = 5000000;
	unsigned retry;
	for (int i = 0; i < 2; i++) {
		throttle_failure(t, "192.0.2.1", "alice", now);
		assert_int_equal(throttle_check(t, "192.0.2.1", "alice", now, &retry), 0);
	}
	throttle_failure(t, "192.0.2.1", "alice", now);    /* third: the user is refused */
	assert_int_equal(throttle_check(t, "192.0.2.9", "alice", now + 1, &retry), -1);
	assert_int_equal(retry, s.block_ms - 1);
	assert_int_equal(throttle_check(t, "192.0.2.1", "bob", now + 1, &retry), 0);
	/* the address after five */
	throttle_failure(t, "192.0.2.1", "bob", now + 2);
	assert_int_equal(throttle_check(t, "192.0.2.1", "carol", now + 3, &retry), 0);
	throttle_failure(t, "192.0.2.1", "carol", now + 3);
	assert_int_equal(throttle_check(t, "192.0.2.1", "carol", now + 4, &retry), -1);
	assert_int_equal(throttle_check(t, "192.0.2.1", NULL, now + 4, &retry), -1);
	assert_int_equal(throttle_check(t, "192.0.2.2", "dave", now + 4, &retry), 0);
	/* the refusal ends after block_ms */
	assert_int_equal(throttle_check(t, "192.0.2.1", "alice", now + s.block_ms + 3, &retry), 0);
	assert_int_equal(retry, 0);
	throttle_free(&t);
}

static void test_forget_and_success(void **state)
{
	(void)state;
	struct throttle_settings s = base_settings();
	s.user_limit = 3;
	s.forget_ms = 1000;
	struct throttle *t = throttle_create(&s);
	uint64_t now = 7000000;
	assert_int_equal(throttle_failure(t, "192.0.2.1", "alice", now), 100);
	assert_int_equal(throttle_failure(t, "192.0.2.1", "alice", now + 10), 200);
	/* quiet for forget_ms: counted from one again */
	assert_int_equal(throttle_failure(t, "192.0.2.1", "alice", now + 1100), 100);
	assert_int_equal(throttle_failure(t, "192.0.2.1", "alice", now + 1110), 200);
	/* success clears both */
	throttle_success(t, "192.0.2.1", "alice");
	assert_int_equal(throttle_failure(t, "192.0.2.1", "alice", now + 1120), 100);
	throttle_success(t, NULL, NULL);
	throttle_success(t, "192.0.2.77", "nobody");
	assert_int_equal(throttle_used(t, now + 1120), 2);
	assert_int_equal(throttle_used(t, now + 5000), 0);
	throttle_free(&t);
}

static void test_networks(void **state)
{
	(void)state;
	struct throttle_settings s = base_settings();
	struct throttle *t = throttle_create(&s);
	uint64_t now = 9000000;
	/* IPv6 by /64 */
	assert_int_equal(throttle_failure(t, "2001:db8:1:2::1", NULL, now), 100);
	assert_int_equal(throttle_failure(t, "2001:db8:1:2:ffff:eeee:dddd:cccc", NULL, now), 200);
	assert_int_equal(throttle_failure(t, "2001:db8:1:3::1", NULL, now), 100);
	/* IPv4 by /32, and IPv4-mapped IPv6 is the same address */
	assert_int_equal(throttle_failure(t, "192.0.2.1", NULL, now), 100);
	assert_int_equal(throttle_failure(t, "::ffff:192.0.2.1", NULL, now), 200);
	assert_int_equal(throttle_failure(t, "192.0.2.2", NULL, now), 100);
	/* anything else is keyed as text */
	assert_int_equal(throttle_failure(t, "unix:/run/x", NULL, now), 100);
	assert_int_equal(throttle_failure(t, "unix:/run/x", NULL, now), 200);
	throttle_free(&t);

	s.ipv4_prefix = 24;
	s.ipv6_prefix = 48;
	t = throttle_create(&s);
	assert_int_equal(throttle_failure(t, "192.0.2.1", NULL, now), 100);
	assert_int_equal(throttle_failure(t, "192.0.2.200", NULL, now), 200);
	assert_int_equal(throttle_failure(t, "192.0.3.1", NULL, now), 100);
	assert_int_equal(throttle_failure(t, "2001:db8:1:2::1", NULL, now), 100);
	assert_int_equal(throttle_failure(t, "2001:db8:1:ffff::1", NULL, now), 200);
	assert_int_equal(throttle_failure(t, "2001:db8:2::1", NULL, now), 100);
	throttle_free(&t);
	/* odd prefix lengths mask inside a byte */
	s.ipv4_prefix = 23;
	t = throttle_create(&s);
	assert_int_equal(throttle_failure(t, "10.0.0.1", NULL, now), 100);
	assert_int_equal(throttle_failure(t, "10.0.1.1", NULL, now), 200);
	assert_int_equal(throttle_failure(t, "10.0.2.1", NULL, now), 100);
	throttle_free(&t);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A flood of failures from random addresses and names never grows the
 * tables past their fixed size, and does not evict a refusing address. */
static void test_memory_bound_under_flood(void **state)
{
	(void)state;
	struct throttle_settings s = base_settings();
	s.entries = 1024;
	s.addr_limit = 3;
	s.user_limit = 3;
	struct throttle *t = throttle_create(&s);
	size_t mem = throttle_memory(t);
	assert_true(mem < 2 * 1024 * 32 + 4096 + sizeof(void *) * 1024);
	uint64_t now = 10000000;
	for (int i = 0; i < 3; i++)
		throttle_failure(t, "192.0.2.66", "victim", now);
	unsigned retry;
	assert_int_equal(throttle_check(t, "192.0.2.66", NULL, now, &retry), -1);
	char addr[64], user[32];
	for (int i = 0; i < 200000; i++) {
		uint64_t r = next_rand();
		snprintf(addr, sizeof(addr), "2001:db8:%x:%x::1", (unsigned)(r & 0xffff),
			 (unsigned)((r >> 16) & 0xffff));
		snprintf(user, sizeof(user), "u%llx", (unsigned long long)(r >> 20));
		throttle_failure(t, addr, user, now + (uint64_t)i / 100);
		if (i % 50000 == 0)
			assert_int_equal(throttle_memory(t), mem);
	}
	assert_int_equal(throttle_memory(t), mem);
	size_t used = throttle_used(t, now + 2000);
	assert_true(used <= 2 * 1024);
	assert_true(used > 1024);          /* the tables did fill up */
	/* the refusing address and user are still refused */
	assert_int_equal(throttle_check(t, "192.0.2.66", NULL, now + 2000, &retry), -1);
	assert_int_equal(throttle_check(t, NULL, "victim", now + 2000, &retry), -1);
	throttle_free(&t);
}

struct worker {
	struct throttle *t;
	int id;
	unsigned max_delay;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	char addr[64];
	uint64_t now = 20000000;
	for (int i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", w->id, (i >> 8) & 255, i & 255);
		throttle_failure(w->t, addr, "shared", now);
		unsigned d = throttle_failure(w->t, "203.0.113.1", NULL, now);
		if (d > w->max_delay)
			w->max_delay = d;
		unsigned retry;
		(void)throttle_check(w->t, addr, "shared", now, &retry);
		if (i % 1000 == 0)
			throttle_success(w->t, addr, NULL);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct throttle_settings s = base_settings();
	s.entries = 2048;
	s.addr_limit = 1000;
	struct throttle *t = throttle_create(&s);
	pthread_t th[8];
	struct worker w[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ t, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(w[i].max_delay, 1000);
	unsigned retry;
	/* 160000 failures from one address across threads: it is refused */
	assert_int_equal(throttle_check(t, "203.0.113.1", NULL, 20000000, &retry), -1);
	assert_true(throttle_used(t, 20000000) <= 2 * 2048);
	throttle_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_delay_grows_and_caps),
		cmocka_unit_test(test_refusal_and_expiry),
		cmocka_unit_test(test_forget_and_success),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_memory_bound_under_flood),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests_name("throttle", tests, NULL, NULL);
}
