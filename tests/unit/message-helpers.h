/* Helpers shared by the message parser's unit tests (test-message.c,
 * test-message-text.c): parse an input whole, byte by byte and split in two
 * at every position (a sample for large inputs), each piece in an exact-size
 * heap buffer, and check that every way gives the same cache blob and that
 * the blob reads back to the same tree. Include after cmocka.h. */
#ifndef LOFT_TESTS_MESSAGE_HELPERS_H
#define LOFT_TESTS_MESSAGE_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "storage/message/message.h"

static const struct msg_limits *test_limits;

static void feed_copy(struct msg_parser *p, const char *data, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);
	memcpy(copy, data, len);
	msg_parser_feed(p, copy, len);
	free(copy);
}

static void blob_of(const struct msg_info *info, void **b, size_t *n)
{
	msg_blob_write(info, b, n);
}

/* Parse msg every way; all results must be equal. Returns the whole parse. */
static struct msg_info *parse_all(const char *msg, size_t len)
{
	struct msg_info *whole = msg_parse_buffer(msg, len, test_limits);
	void *want;
	size_t want_len;
	blob_of(whole, &want, &want_len);

	size_t step = len > 3000 ? len / 97 + 1 : 1;
	for (size_t k = 0; k <= len; k += step) {
		struct msg_parser *p = msg_parser_new(test_limits);
		feed_copy(p, msg, k);
		feed_copy(p, msg + k, len - k);
		struct msg_info *info = msg_parser_finish(&p);
		void *got;
		size_t got_len;
		blob_of(info, &got, &got_len);
		if (got_len != want_len || memcmp(got, want, want_len) != 0)
			fail_msg("split at %zu of %zu changes the parse", k, len);
		free(got);
		msg_info_free(&info);
	}
	if (len <= 20000) {
		struct msg_parser *p = msg_parser_new(test_limits);
		for (size_t i = 0; i < len; i++)
			feed_copy(p, msg + i, 1);
		struct msg_info *info = msg_parser_finish(&p);
		void *got;
		size_t got_len;
		blob_of(info, &got, &got_len);
		assert_true(got_len == want_len && memcmp(got, want, want_len) == 0);
		free(got);
		msg_info_free(&info);
	}
	/* the blob reads back to the same tree */
	struct msg_info *back;
	assert_int_equal(msg_blob_read(want, want_len, &back), MSG_OK);
	void *again;
	size_t again_len;
	blob_of(back, &again, &again_len);
	assert_true(again_len == want_len && memcmp(again, want, want_len) == 0);
	free(again);
	msg_info_free(&back);
	free(want);
	return whole;
}

static struct msg_info *parse_str(const char *msg)
{
	return parse_all(msg, strlen(msg));
}

#endif
