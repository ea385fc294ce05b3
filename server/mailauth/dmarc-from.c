/* The Author Domains of a message (RFC 7489 3.1, 6.6.1): the domain of
 * every mailbox in every From: field, read with the RFC 5322 address
 * parser of storage/message (groups, comments, quoted local parts,
 * obsolete routes), kept once each. What the checks do with zero, one or
 * several of them is mailauth.c's: DMARC runs for each domain and the
 * strictest failing policy applies. */
#include "server/mailauth/dmarc.h"

#include <ctype.h>
#include <string.h>

#include "lib/xmem.h"
#include "server/mailauth/hdr-block.h"
#include "storage/message/message.h"

static bool domain_ok(const char *d, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return false;
	}
	char *z = xstrndup(d, len);
	bool ok = dns_name_valid(z) && strchr(z, '.') != NULL && d[0] != '.';
	free(z);
	return ok;
}

static void add(struct dmarc_from *out, const char *d, size_t len)
{
	char *low = xstrndup(d, len);
	for (char *p = low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	size_t l = strlen(low);
	if (l > 0 && low[l - 1] == '.')
		low[l - 1] = '\0';
	for (size_t i = 0; i < out->n; i++) {
		if (strcmp(out->domains[i], low) == 0) {
			free(low);
			return;
		}
	}
	if (out->n == DMARC_MAX_AUTHORS) {
		out->truncated = true;
		free(low);
		return;
	}
	out->domains[out->n++] = low;
}

void dmarc_from_domains(const struct hdr_block *h, struct dmarc_from *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < hdr_block_count(h); i++) {
		const struct hdr_field *f = hdr_block_field(h, i);
		if (!hdr_field_is(f, "From"))
			continue;
		out->fields++;
		struct msg_buf one = { 0 };
		msg_buf_puts(&one, "From:");
		msg_buf_append(&one, f->value, f->value_len);
		msg_buf_puts(&one, "\r\n\r\n");
		struct msg_info *info = msg_parse_buffer(one.data, one.len, NULL);
		msg_buf_free(&one);
		const struct msg_envelope *env = info->root->envelope;
		size_t mailboxes = 0;
		for (uint32_t k = 0; env != NULL && k < env->from.count; k++) {
			const struct msg_addr *a = &env->from.addrs[k];
			if (a->domain.data == NULL)
				continue;   /* a group's start or end */
			mailboxes++;
			if (domain_ok(a->domain.data, a->domain.len))
				add(out, a->domain.data, a->domain.len);
			else
				out->invalid = true;
		}
		if (mailboxes == 0)
			out->invalid = true;
		msg_info_free(&info);
	}
}

void dmarc_from_free(struct dmarc_from *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->domains[i]);
	f->n = 0;
}
