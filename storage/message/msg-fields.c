/* Interpretation of single header fields once they are complete: which
 * field it is, what a Content-Type means for the structure, and the
 * Content-* and ENVELOPE values kept per part. Content-* fields count the
 * first occurrence (RFC 2045 allows one), envelope fields the last, which is
 * what clients of the big IMAP servers are used to seeing. */
#include "storage/message/msg-internal.h"

#include <string.h>
#include <strings.h>

#include "lib/xmem.h"

struct field_name {
	const char *name;
	enum msg_field_id id;
};
static const struct field_name fields[] = {
	{ "mime-version", MSG_F_MIME_VERSION },
	{ "content-type", MSG_F_CONTENT_TYPE },
	{ "content-transfer-encoding", MSG_F_CONTENT_TRANSFER_ENCODING },
	{ "content-id", MSG_F_CONTENT_ID },
	{ "content-description", MSG_F_CONTENT_DESCRIPTION },
	{ "content-disposition", MSG_F_CONTENT_DISPOSITION },
	{ "content-language", MSG_F_CONTENT_LANGUAGE },
	{ "content-location", MSG_F_CONTENT_LOCATION },
	{ "content-md5", MSG_F_CONTENT_MD5 },
	{ "date", MSG_F_DATE },
	{ "subject", MSG_F_SUBJECT },
	{ "from", MSG_F_FROM },
	{ "sender", MSG_F_SENDER },
	{ "reply-to", MSG_F_REPLY_TO },
	{ "to", MSG_F_TO },
	{ "cc", MSG_F_CC },
	{ "bcc", MSG_F_BCC },
	{ "in-reply-to", MSG_F_IN_REPLY_TO },
	{ "message-id", MSG_F_MESSAGE_ID },
};

enum msg_field_id msg_field_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == len && strncasecmp(fields[i].name, name, len) == 0)
			return fields[i].id;
	if (len >= 8 && strncasecmp(name, "content-", 8) == 0)
		return MSG_F_CONTENT_OTHER;
	return MSG_F_OTHER;
}

void msg_ctype_classify(const char *value, size_t len, struct msg_ctype_info *ci)
{
	struct msg_lex l;
	struct msg_buf ct = { 0 };
	msg_lex_init(&l, value, len);
	(void)msg_lex_skip_ws(&l);
	int r = msg_lex_content_type(&l, &ct);
	const char *s = ct.data != NULL ? ct.data : "";
	size_t n = ct.len;

	ci->flags = 0;
	ci->has_boundary = false;
	if (n == 14 && strncasecmp(s, "message/rfc822", 14) == 0)
		ci->flags |= MSG_PART_MESSAGE;
	else if (n == 14 && strncasecmp(s, "message/global", 14) == 0)
		ci->flags |= MSG_PART_MESSAGE | MSG_PART_GLOBAL;
	else if (n >= 4 && strncasecmp(s, "text", 4) == 0 && (n == 4 || s[4] == '/'))
		ci->flags |= MSG_PART_TEXT;
	else if (n >= 10 && strncasecmp(s, "multipart/", 10) == 0) {
		ci->flags |= MSG_PART_MULTIPART;
		if (n == 16 && strncasecmp(s + 10, "digest", 6) == 0)
			ci->flags |= MSG_PART_DIGEST;
	}
	msg_buf_free(&ct);
	if (r < 0 || (ci->flags & MSG_PART_MULTIPART) == 0)
		return;

	struct msg_arena *a = msg_arena_new();
	struct msg_param *params;
	uint32_t count;
	msg_params_parse(&l, a, &params, &count);
	const struct msg_param *ext = NULL;
	for (uint32_t i = 0; i < count; i++) {
		if (msg_str_eq(params[i].name, "boundary")) {
			ci->boundary.len = 0;
			msg_buf_append(&ci->boundary, params[i].value.data,
				       params[i].value.len > MSG_BOUNDARY_MAX ?
				       MSG_BOUNDARY_MAX : params[i].value.len);
			ci->has_boundary = true;
			break;
		}
		if (ext == NULL && msg_str_eq(params[i].name, "boundary*"))
			ext = &params[i];
	}
	if (!ci->has_boundary && ext != NULL) {
		/* RFC 2231 section 4: boundary*=charset'lang'value */
		struct msg_buf dec = { 0 };
		msg_rfc2231_decode(ext, &dec);
		ci->boundary.len = 0;
		msg_buf_append(&ci->boundary, dec.data != NULL ? dec.data : "",
			       dec.len > MSG_BOUNDARY_MAX ? MSG_BOUNDARY_MAX : dec.len);
		ci->has_boundary = true;
		msg_buf_free(&dec);
	}
	msg_arena_free(a);
}

static void parse_content_type(struct msg_part *part, struct msg_arena *a,
			       const char *value, size_t len)
{
	struct msg_lex l;
	struct msg_buf ct = { 0 };
	msg_lex_init(&l, value, len);
	(void)msg_lex_skip_ws(&l);
	int r = msg_lex_content_type(&l, &ct);
	const char *s = ct.data != NULL ? ct.data : "";
	const char *slash = memchr(s, '/', ct.len);
	size_t tlen = slash != NULL ? (size_t)(slash - s) : ct.len;
	part->type = msg_arena_str(a, s, tlen);
	if (slash != NULL)
		part->subtype = msg_arena_str(a, slash + 1, ct.len - tlen - 1);
	else
		part->subtype = msg_arena_str(a, "", 0);
	msg_buf_free(&ct);
	if (r >= 0)
		msg_params_parse(&l, a, &part->params, &part->n_params);
}

static void parse_encoding(struct msg_part *part, struct msg_arena *a,
			   const char *value, size_t len)
{
	struct msg_lex l;
	struct msg_buf tok = { 0 };
	msg_lex_init(&l, value, len);
	(void)msg_lex_skip_ws(&l);
	int r = msg_lex_token(&l, &tok);
	/* the decoder goes by the token even with trailing junk */
	part->cte = msg_cte_parse(tok.data != NULL ? tok.data : "", tok.len);
	if (r >= 0 && msg_lex_skip_ws(&l) == 0 && tok.len > 0)
		part->encoding = msg_arena_str(a, tok.data, tok.len);
	msg_buf_free(&tok);
}

static void parse_disposition(struct msg_part *part, struct msg_arena *a,
			      const char *value, size_t len)
{
	struct msg_lex l;
	struct msg_buf tok = { 0 };
	msg_lex_init(&l, value, len);
	(void)msg_lex_skip_ws(&l);
	if (msg_lex_token(&l, &tok) < 0) {
		msg_buf_free(&tok);
		return;
	}
	part->disposition = msg_arena_str(a, tok.data != NULL ? tok.data : "", tok.len);
	msg_buf_free(&tok);
	msg_params_parse(&l, a, &part->disp_params, &part->n_disp_params);
}

static void parse_language(struct msg_part *part, struct msg_arena *a,
			   const char *value, size_t len)
{
	struct msg_lex l;
	struct msg_buf tok = { 0 };
	struct msg_str *v = NULL;
	size_t n = 0, cap = 0;
	msg_lex_init(&l, value, len);
	(void)msg_lex_skip_ws(&l);
	for (;;) {
		tok.len = 0;
		if (msg_lex_atom(&l, &tok) < 0)
			break;
		if (n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = msg_arena_str(a, tok.data, tok.len);
		if (l.p >= l.end || *l.p != ',')
			break;
		l.p++;
		(void)msg_lex_skip_ws(&l);
	}
	if (n > 0) {
		part->languages = msg_arena_alloc(a, n * sizeof(*v));
		memcpy(part->languages, v, n * sizeof(*v));
		part->n_languages = (uint32_t)n;
	}
	free(v);
	msg_buf_free(&tok);
}

static void set_once(struct msg_str *s, struct msg_arena *a, const char *value, size_t len)
{
	if (s->data == NULL)
		*s = msg_arena_str(a, value, len);
}

void msg_content_field(struct msg_part *part, struct msg_arena *a, enum msg_field_id id,
		       const char *value, size_t len)
{
	switch (id) {
	case MSG_F_CONTENT_TYPE:
		if (part->type.data == NULL)
			parse_content_type(part, a, value, len);
		break;
	case MSG_F_CONTENT_TRANSFER_ENCODING:
		parse_encoding(part, a, value, len);   /* the caller passes the first only */
		break;
	case MSG_F_CONTENT_ID:
		set_once(&part->id, a, value, len);
		break;
	case MSG_F_CONTENT_DESCRIPTION:
		set_once(&part->description, a, value, len);
		break;
	case MSG_F_CONTENT_MD5:
		set_once(&part->md5, a, value, len);
		break;
	case MSG_F_CONTENT_LOCATION:
		set_once(&part->location, a, value, len);
		break;
	case MSG_F_CONTENT_LANGUAGE:
		if (part->n_languages == 0)
			parse_language(part, a, value, len);
		break;
	case MSG_F_CONTENT_DISPOSITION:
		/* a later field counts while no parameters were seen */
		if (part->n_disp_params == 0)
			parse_disposition(part, a, value, len);
		break;
	default:
		break;
	}
}

void msg_content_forget(struct msg_part *part)
{
	memset(&part->type, 0, sizeof(part->type));
	memset(&part->subtype, 0, sizeof(part->subtype));
	part->params = NULL;
	part->n_params = 0;
	memset(&part->id, 0, sizeof(part->id));
	memset(&part->description, 0, sizeof(part->description));
	memset(&part->encoding, 0, sizeof(part->encoding));
	memset(&part->md5, 0, sizeof(part->md5));
	memset(&part->disposition, 0, sizeof(part->disposition));
	memset(&part->location, 0, sizeof(part->location));
	part->disp_params = NULL;
	part->n_disp_params = 0;
	part->languages = NULL;
	part->n_languages = 0;
	/* cte stays: decoding goes by the field even without MIME-Version */
}

void msg_envelope_field(struct msg_envelope *env, struct msg_arena *a, enum msg_field_id id,
			const char *value, size_t len)
{
	switch (id) {
	case MSG_F_DATE: env->date = msg_arena_str(a, value, len); break;
	case MSG_F_SUBJECT: env->subject = msg_arena_str(a, value, len); break;
	case MSG_F_MESSAGE_ID: env->message_id = msg_arena_str(a, value, len); break;
	case MSG_F_IN_REPLY_TO: env->in_reply_to = msg_arena_str(a, value, len); break;
	case MSG_F_FROM: msg_addr_parse(value, len, a, &env->from); break;
	case MSG_F_SENDER: msg_addr_parse(value, len, a, &env->sender); break;
	case MSG_F_REPLY_TO: msg_addr_parse(value, len, a, &env->reply_to); break;
	case MSG_F_TO: msg_addr_parse(value, len, a, &env->to); break;
	case MSG_F_CC: msg_addr_parse(value, len, a, &env->cc); break;
	case MSG_F_BCC: msg_addr_parse(value, len, a, &env->bcc); break;
	default: break;
	}
}
