/* Verifies the DKIM signatures of one message with Loft's verifier
 * (server/mailauth/dkim.h), keys served from a file by the fake resolver
 * (tests/support/fake-dns.h): the offline check of the signed messages in
 * tests/corpus/mail against tests/corpus/mail/dkim-keys/keys.tsv.
 *   dkim-verify [--now SECONDS] [--chunk N] KEYS.tsv MESSAGE
 * KEYS.tsv: "<name>\t<TXT value>[\t...]" lines, '#' comments. The message
 * is fed as SMTP would give it (line ends made CRLF) in chunks of N bytes
 * (default 4096). Prints one line per signature:
 *   <n>\t<result>\t<d>\t<s>\t<algo>\t<why> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/mailauth/dkim.h"
#include "storage/message/message.h"
#include "tests/support/fake-dns.h"
#include "tests/support/message-file.h"

static void load_keys(struct fake_zone *z, const char *path)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		perror(path);
		exit(2);
	}
	char line[8192];
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		char *val = tab + 1;
		char *end = strchr(val, '\t');
		if (end != NULL)
			*end = '\0';
		fake_txt_str(z, line, val);
	}
	fclose(fp);
}

int main(int argc, char **argv)
{
	uint64_t now = (uint64_t)time(NULL);
	size_t chunk = 4096;
	int i = 1;
	for (; i < argc - 2; i++) {
		if (strcmp(argv[i], "--now") == 0 && i + 1 < argc - 2)
			now = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc - 2)
			chunk = strtoul(argv[++i], NULL, 10);
	}
	if (argc - i != 2 || chunk == 0) {
		fprintf(stderr, "usage: dkim-verify [--now S] [--chunk N] KEYS.tsv MESSAGE\n");
		return 2;
	}
	struct fake_zone z = { 0 };
	load_keys(&z, argv[i]);
	struct msg_buf msg;
	if (!message_file_crlf(argv[i + 1], &msg)) {
		perror(argv[i + 1]);
		return 2;
	}

	struct hdr_block *h = hdr_block_new(1024 * 1024);
	struct dkim_limits lim = {
		.min_rsa_bits = 1024, .max_rsa_bits = 8192, .max_signatures = 8,
		.accept_sha1 = true, .now = now, .clock_skew_s = 300,
	};
	struct dkim_verifier *v = NULL;
	for (size_t off = 0; off < msg.len; off += chunk) {
		size_t len = msg.len - off < chunk ? msg.len - off : chunk;
		const char *p = msg.data + off;
		if (v == NULL) {
			bool done;
			size_t used = hdr_block_feed(h, p, len, &done);
			if (!done)
				continue;
			v = dkim_verifier_new(&lim, h);
			p += used;
			len -= used;
		}
		dkim_verifier_body(v, p, len);
	}
	if (v == NULL) {
		hdr_block_end(h);
		v = dkim_verifier_new(&lim, h);
	}
	dkim_verifier_body_end(v);
	for (size_t k = 0; k < dkim_verifier_count(v); k++) {
		const char *name = dkim_verifier_key_name(v, k);
		if (name == NULL)
			continue;
		struct dns_answer *a = fake_lookup(&z, name, DNS_T_TXT);
		dkim_verifier_key_answer(v, k, a);
		dns_answer_free(&a);
	}
	dkim_verifier_finish(v);
	for (size_t k = 0; k < dkim_verifier_count(v); k++) {
		const struct dkim_sig_result *r = dkim_verifier_result(v, k);
		printf("%zu\t%s\t%s\t%s\t%s\t%s\n", k + 1, dkim_result_name(r->result),
		       r->d ? r->d : "-", r->s ? r->s : "-", r->algo ? r->algo : "-",
		       r->why ? r->why : "");
	}
	dkim_verifier_free(&v);
	hdr_block_free(&h);
	fake_zone_clear(&z);
	msg_buf_free(&msg);
	return 0;
}
