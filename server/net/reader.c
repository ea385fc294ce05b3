/* The resumable line and byte-count readers (see reader.h). All progress is in
 * struct reader, so a caller can hand over input in pieces of any size and
 * get the same lines, the same overlong-line reports and the same payloads. */
#include "server/net/reader.h"

#include <string.h>

void reader_init(struct reader *r, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line;
}

void reader_set_max_line(struct reader *r, size_t max_line)
{
	r->max_line = max_line;
}

enum reader_result reader_line(struct reader *r, const char *data, size_t len,
			       struct reader_line *line_r, size_t *consumed_r)
{
	*consumed_r = 0;
	line_r->data = NULL;
	line_r->len = 0;
	line_r->eol = READER_EOL_NONE;

	if (r->discarding) {
		const char *lf = len > 0 ? memchr(data, '\n', len) : NULL;
		r->scanned = 0;
		if (lf == NULL) {
			*consumed_r = len;
			return READER_NEED_MORE;
		}
		size_t skip = (size_t)(lf - data) + 1;
		r->discarding = false;
		data += skip;
		len -= skip;
		*consumed_r = skip;
	}

	size_t from = r->scanned <= len ? r->scanned : len;
	const char *lf = len > from ? memchr(data + from, '\n', len - from) : NULL;
	if (lf != NULL) {
		size_t n = (size_t)(lf - data);
		size_t content = n;
		enum reader_eol eol = READER_EOL_LF;
		if (n > 0 && data[n - 1] == '\r') {
			content = n - 1;
			eol = READER_EOL_CRLF;
		}
		r->scanned = 0;
		*consumed_r += n + 1;
		if (content > r->max_line) {
			line_r->data = data;
			line_r->len = r->max_line;
			return READER_TOO_LONG;
		}
		line_r->data = data;
		line_r->len = content;
		line_r->eol = eol;
		return READER_LINE;
	}

	/* No LF yet. Content is certainly over the limit once more than
	 * max_line + 1 bytes are pending, or max_line + 1 bytes that do not
	 * end in a CR (which could still be the first half of CRLF). */
	if (len > r->max_line + 1 ||
	    (len == r->max_line + 1 && data[len - 1] != '\r')) {
		*consumed_r += len;
		r->discarding = true;
		r->scanned = 0;
		line_r->data = data;
		line_r->len = r->max_line;
		return READER_TOO_LONG;
	}
	r->scanned = len;
	return READER_NEED_MORE;
}

void reader_bytes_begin(struct reader *r, size_t n)
{
	r->literal_left = n;
}

size_t reader_bytes_left(const struct reader *r)
{
	return r->literal_left;
}

bool reader_bytes(struct reader *r, const char *data, size_t len,
		  size_t *chunk_len_r)
{
	(void)data;
	size_t take = len < r->literal_left ? len : r->literal_left;
	r->literal_left -= take;
	*chunk_len_r = take;
	return r->literal_left == 0;
}
