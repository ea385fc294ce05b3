/* libFuzzer target for the DMARC record parser (server/mailauth/
 * dmarc-record.c) and the Author Domains of From: (dmarc-from.c): the
 * input is a TXT record, then the value of a From: field. A record that
 * parses has policies and a pct in range and begins v=DMARC1; every
 * Author Domain is a lower-case name of valid labels, each kept once. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/mailauth/dmarc.h"
#include "server/mailauth/hdr-block.h"
#include "storage/message/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt = xmalloc(size ? size : 1);
	memcpy(txt, data, size);
	struct dmarc_record rec;
	const char *why;
	if (dmarc_record_parse(txt, size, &rec, &why) == 0) {
		if (!dmarc_is_record(txt, size) || rec.pct > 100 || rec.p > DMARC_P_REJECT ||
		    rec.sp > DMARC_P_REJECT)
			abort();
	}
	struct msg_buf m = { 0 };
	msg_buf_puts(&m, "From:");
	msg_buf_append(&m, txt, size);
	msg_buf_puts(&m, "\r\n\r\n");
	struct hdr_block *h = hdr_block_new(1 << 20);
	bool done;
	hdr_block_feed(h, m.data, m.len, &done);
	hdr_block_end(h);
	struct dmarc_from f;
	dmarc_from_domains(h, &f);
	for (size_t i = 0; i < f.n; i++) {
		if (!dns_name_valid(f.domains[i]))
			abort();
		for (const char *p = f.domains[i]; *p; p++)
			if (isupper((unsigned char)*p))
				abort();
		for (size_t k = 0; k < i; k++)
			if (strcmp(f.domains[i], f.domains[k]) == 0)
				abort();
	}
	dmarc_from_free(&f);
	hdr_block_free(&h);
	msg_buf_free(&m);
	free(txt);
	return 0;
}
