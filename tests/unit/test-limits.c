/* Tests of the shared connection counters (server/net/limits.c): client
 * addresses cut to their network prefix (IPv4 /32 and IPv6 /64 by default,
 * any length on and off byte boundaries, IPv4-mapped IPv6 as IPv4), the
 * per-network cap that one IPv6 host cannot dodge by changing its interface
 * identifier, the total cap, and slots given back on release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "server/net/limits.h"
#include "lib/error.h"

static struct net_addr_key key(const char *ip, unsigned v4, unsigned v6)
{
	struct net_addr_key k;
	if (net_addr_key_parse(ip, v4, v6, &k) != 0)
		fail_msg("not an address: %s", ip);
	return k;
}

static void assert_net(const char *ip, unsigned v4, unsigned v6, const char *want)
{
	struct net_addr_key k = key(ip, v4, v6);
	char buf[NET_ADDR_KEY_TEXT];
	net_addr_key_format(&k, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("%s with /%u /%u: got %s, want %s", ip, v4, v6, buf, want);
}

static void test_keys_cut_to_prefix(void **state)
{
	(void)state;
	assert_net("192.0.2.77", 32, 64, "192.0.2.77/32");
	assert_net("192.0.2.77", 24, 64, "192.0.2.0/24");
	assert_net("192.0.2.77", 26, 64, "192.0.2.64/26");  /* off a byte boundary */
	assert_net("192.0.2.77", 1, 64, "128.0.0.0/1");
	assert_net("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 32, 64, "2001:db8:1:2::/64");
	assert_net("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 32, 128,
		   "2001:db8:1:2:aaaa:bbbb:cccc:dddd/128");
	assert_net("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 32, 56, "2001:db8:1::/56");
	assert_net("2001:db8:1:2ff:aaaa::1", 32, 61, "2001:db8:1:2f8::/61");
	/* Longer than the address: all of it. */
	assert_net("10.1.2.3", 99, 64, "10.1.2.3/32");
	assert_net("::1", 32, 200, "::1/128");
	/* An IPv4-mapped IPv6 address is the IPv4 client it carries. */
	assert_net("::ffff:192.0.2.77", 24, 64, "192.0.2.0/24");
	struct net_addr_key k;
	assert_int_equal(net_addr_key_parse("not-an-ip", 32, 64, &k), LOFT_EINVAL);
	assert_int_equal(net_addr_key_parse("192.0.2.1/24", 32, 64, &k), LOFT_EINVAL);
	assert_int_equal(net_addr_key_parse("", 32, 64, &k), LOFT_EINVAL);
}

static void test_keys_from_sockaddr(void **state)
{
	(void)state;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(993) };
	inet_pton(AF_INET6, "2001:db8::5:6", &sin6.sin6_addr);
	struct net_addr_key a, b = key("2001:db8::ffff", 32, 64);
	net_addr_key_from_sockaddr((struct sockaddr *)&sin6, 32, 64, &a);
	assert_true(net_addr_key_equal(&a, &b));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(143) };
	inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr);
	net_addr_key_from_sockaddr((struct sockaddr *)&sin, 32, 64, &a);
	b = key("198.51.100.9", 32, 64);
	assert_true(net_addr_key_equal(&a, &b));
	b = key("198.51.100.10", 32, 64);
	assert_false(net_addr_key_equal(&a, &b));
	/* The same bits with another prefix length are another network. */
	struct net_addr_key c = key("10.0.0.0", 8, 64), d = key("10.0.0.0", 16, 64);
	assert_false(net_addr_key_equal(&c, &d));
	/* A family the limits do not know is the "unknown" key. */
	struct sockaddr unknown = { .sa_family = AF_UNIX };
	net_addr_key_from_sockaddr(&unknown, 32, 64, &a);
	char buf[NET_ADDR_KEY_TEXT];
	net_addr_key_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "unknown");
}

static void test_ipv6_host_counts_once_per_64(void **state)
{
	(void)state;
	struct net_limits *lim = net_limits_create();
	/* One host rotating its interface identifier (privacy addresses). */
	const char *same64[] = { "2001:db8:0:1::1", "2001:db8:0:1::2",
				 "2001:db8:0:1:ffff:ffff:ffff:ffff" };
	struct net_addr_key k[3];
	for (int i = 0; i < 3; i++) {
		k[i] = key(same64[i], 32, 64);
		assert_int_equal(net_limits_acquire(lim, &k[i], 0, 3), NET_LIMIT_OK);
	}
	struct net_addr_key fourth = key("2001:db8:0:1:1234::9", 32, 64);
	assert_int_equal(net_limits_acquire(lim, &fourth, 0, 3), NET_LIMIT_PER_IP);
	assert_int_equal(net_limits_count(lim, &fourth), 3);
	/* The next /64 is another client. */
	struct net_addr_key other = key("2001:db8:0:2::1", 32, 64);
	assert_int_equal(net_limits_acquire(lim, &other, 0, 3), NET_LIMIT_OK);
	assert_int_equal(net_limits_count(lim, &other), 1);
	assert_int_equal(net_limits_total(lim), 4);
	/* A slot given back can be taken again, by any address of the /64. */
	net_limits_release(lim, &k[1]);
	assert_int_equal(net_limits_count(lim, &fourth), 2);
	assert_int_equal(net_limits_acquire(lim, &fourth, 0, 3), NET_LIMIT_OK);
	for (int i = 0; i < 3; i++)
		if (i != 1)
			net_limits_release(lim, &k[i]);
	net_limits_release(lim, &fourth);
	net_limits_release(lim, &other);
	assert_int_equal(net_limits_total(lim), 0);
	assert_int_equal(net_limits_count(lim, &fourth), 0);
	net_limits_free(&lim);
	assert_null(lim);
}

static void test_prefix_lengths_are_settings(void **state)
{
	(void)state;
	struct net_limits *lim = net_limits_create();
	/* /128: every IPv6 address alone, as before. */
	struct net_addr_key a = key("2001:db8::1", 32, 128), b = key("2001:db8::2", 32, 128);
	assert_int_equal(net_limits_acquire(lim, &a, 0, 1), NET_LIMIT_OK);
	assert_int_equal(net_limits_acquire(lim, &b, 0, 1), NET_LIMIT_OK);
	net_limits_release(lim, &a);
	net_limits_release(lim, &b);
	/* IPv4 /24: a whole subnet shares the cap. */
	struct net_addr_key c = key("203.0.113.1", 24, 64), d = key("203.0.113.254", 24, 64);
	struct net_addr_key e = key("203.0.114.1", 24, 64);
	assert_int_equal(net_limits_acquire(lim, &c, 0, 1), NET_LIMIT_OK);
	assert_int_equal(net_limits_acquire(lim, &d, 0, 1), NET_LIMIT_PER_IP);
	assert_int_equal(net_limits_acquire(lim, &e, 0, 1), NET_LIMIT_OK);
	net_limits_release(lim, &c);
	net_limits_release(lim, &e);
	assert_int_equal(net_limits_total(lim), 0);
	net_limits_free(&lim);
}

static void test_total_cap_and_unknown_release(void **state)
{
	(void)state;
	struct net_limits *lim = net_limits_create();
	struct net_addr_key keys[5];
	char ip[32];
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		keys[i] = key(ip, 32, 64);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(net_limits_acquire(lim, &keys[i], 4, 0), NET_LIMIT_OK);
	/* The total comes first, even for a network with room. */
	assert_int_equal(net_limits_acquire(lim, &keys[4], 4, 10), NET_LIMIT_TOTAL);
	/* Releasing a key that holds nothing changes nothing. */
	net_limits_release(lim, &keys[4]);
	assert_int_equal(net_limits_total(lim), 4);
	for (int i = 0; i < 4; i++)
		net_limits_release(lim, &keys[i]);
	assert_int_equal(net_limits_total(lim), 0);
	net_limits_free(&lim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_cut_to_prefix),
		cmocka_unit_test(test_keys_from_sockaddr),
		cmocka_unit_test(test_ipv6_host_counts_once_per_64),
		cmocka_unit_test(test_prefix_lengths_are_settings),
		cmocka_unit_test(test_total_cap_and_unknown_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
