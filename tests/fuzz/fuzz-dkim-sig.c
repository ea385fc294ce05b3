/* libFuzzer target for the DKIM tag-list, DKIM-Signature and key record
 * parsers (server/mailauth/dkim-tags.c, dkim-sig.c, dkim-key.c) and the
 * verifier around them: the input is a DKIM-Signature value. A signature
 * that parses must have its b= segment inside the input and a valid d=;
 * then it heads a small message that is verified with a fake zone whose
 * key for any selector is the input itself (the key parser's turn) and,
 * failing that, a fixed ed25519 key: every result must be a known one,
 * and a pass is impossible (nobody signed it). Exact-size copies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/mailauth/dkim.h"
#include "storage/message/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = xmalloc(size ? size : 1);
	memcpy(v, data, size);
	struct dkim_tag tags[DKIM_MAX_TAGS];
	size_t n;
	if (dkim_tags_parse(v, size, tags, DKIM_MAX_TAGS, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (tags[i].value < v || tags[i].value + tags[i].value_len > v + size ||
			    tags[i].seg_end > size)
				abort();
	struct dkim_sig *sig = NULL;
	enum dkim_result r;
	const char *why;
	if (dkim_sig_parse(v, size, &sig, &r, &why) == 0) {
		if (sig->b_start > sig->b_end || sig->b_end > size || sig->d == NULL ||
		    sig->n_h == 0)
			abort();
		struct dkim_key_policy pol = { 1024, 8192 };
		struct dkim_key *key = NULL;
		if (dkim_key_parse(v, size, sig, &pol, &key, &r, &why) == 0)
			dkim_key_free(&key);
		dkim_sig_free(&sig);
	} else if (r != DKIM_NEUTRAL && r != DKIM_PERMERROR) {
		abort();
	}

	/* the input as the DKIM-Signature of a message */
	struct msg_buf m = { 0 };
	msg_buf_puts(&m, "DKIM-Signature:");
	msg_buf_append(&m, v, size);
	msg_buf_puts(&m, "\r\nFrom: a@fuzz.test\r\nSubject: s\r\n\r\nbody\r\n");
	char *copy = xmalloc(m.len);
	memcpy(copy, m.data, m.len);
	struct hdr_block *h = hdr_block_new(1 << 20);
	bool done;
	size_t used = hdr_block_feed(h, copy, m.len, &done);
	if (!done)
		hdr_block_end(h);
	struct dkim_limits lim = { 1024, 8192, 8, false, 2000000000u, 300 };
	struct dkim_verifier *ver = dkim_verifier_new(&lim, h);
	dkim_verifier_body(ver, copy + used, m.len - used);
	dkim_verifier_body_end(ver);
	for (size_t i = 0; i < dkim_verifier_count(ver); i++) {
		if (dkim_verifier_key_name(ver, i) == NULL)
			continue;
		struct dns_rr rr = { .type = DNS_T_TXT };
		rr.u.txt.data = v;
		rr.u.txt.len = size;
		struct dns_answer *a = dns_answer_make(DNS_ANSWER, DNS_T_TXT, 60, NULL, &rr, 1);
		dkim_verifier_key_answer(ver, i, a);
		dns_answer_free(&a);
		if (dkim_verifier_key_name(ver, i) != NULL) {
			static const char ed[] = "v=DKIM1; k=ed25519; "
						 "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
			rr.u.txt.data = ed;
			rr.u.txt.len = sizeof(ed) - 1;
			a = dns_answer_make(DNS_ANSWER, DNS_T_TXT, 60, NULL, &rr, 1);
			dkim_verifier_key_answer(ver, i, a);
			dns_answer_free(&a);
		}
	}
	dkim_verifier_finish(ver);
	for (size_t i = 0; i < dkim_verifier_count(ver); i++) {
		const struct dkim_sig_result *res = dkim_verifier_result(ver, i);
		if (res->result == DKIM_PASS || res->result > DKIM_PERMERROR)
			abort();
	}
	dkim_verifier_free(&ver);
	hdr_block_free(&h);
	free(copy);
	msg_buf_free(&m);
	free(v);
	return 0;
}
