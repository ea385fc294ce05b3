/* The end of the top-level header of a message's CRLF form (see
 * fetch-body.h). */
#include "server/imap/fetch-body.h"

#include <string.h>

void imap_hdr_end_init(struct imap_hdr_end *h)
{
	memset(h, 0, sizeof(*h));
	h->line_start = true;
}

size_t imap_hdr_end_feed(struct imap_hdr_end *h, const char *data, size_t len)
{
	size_t i = 0;
	while (i < len && !h->found) {
		char c = data[i++];
		h->pos++;
		if (h->cr && c == '\n') {
			h->found = true;
			h->end = h->pos;
			break;
		}
		h->cr = h->line_start && c == '\r';
		h->line_start = c == '\n';
	}
	return i;
}
