/* Reading a message file for tests and tools the way SMTP would hand it
 * over: every line end made CRLF (storage/message's msg_crlf_run).
 * Header-only. */
#ifndef LOFT_TESTS_MESSAGE_FILE_H
#define LOFT_TESTS_MESSAGE_FILE_H

#include <stdbool.h>
#include <stdio.h>

#include "storage/message/message.h"

/* The file at path with CRLF line ends in *out (free with msg_buf_free);
 * false if it cannot be read. */
static inline bool message_file_crlf(const char *path, struct msg_buf *out)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return false;
	struct msg_buf raw = { 0 };
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		msg_buf_append(&raw, buf, n);
	fclose(fp);
	struct msg_crlf c = { 0 };
	*out = (struct msg_buf){ 0 };
	msg_crlf_run(&c, raw.data, raw.len, out);
	msg_buf_free(&raw);
	return true;
}

#endif
