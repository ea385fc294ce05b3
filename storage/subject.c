/* Base subject extraction, RFC 5256 2.1, step by step:
 *  (1) decode RFC 2047 words, tabs and line breaks to spaces, runs of
 *      spaces to one;
 *  (2) remove subj-trailers ("(fwd)" and white space) at the end, repeated;
 *  (3) remove a subj-leader (white space, or *subj-blob subj-refwd:
 *      "Re:", "Fw:", "Fwd:", "Re[2]:", "[list] Re:" ...);
 *  (4) remove a leading subj-blob ("[list]") if a non-empty subj-base is
 *      left after it;
 *  (5) repeat (3) and (4) until nothing changes;
 *  (6) if what is left is "[fwd:" ... "]", unwrap it and start again at (2).
 * Keywords are matched ASCII case-insensitively. A subject is a reply or
 * forward when (2), (3) or (6) removed a marker other than white space. */
#include <string.h>
#include <strings.h>

#include "storage/sort.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* (2): strip "(fwd)" and white space at the end. */
static bool strip_trailers(const char *s, size_t *len, bool *reply)
{
	bool changed = false;
	for (;;) {
		if (*len > 0 && is_wsp(s[*len - 1])) {
			(*len)--;
			changed = true;
		} else if (*len >= 5 && strncasecmp(s + *len - 5, "(fwd)", 5) == 0) {
			*len -= 5;
			*reply = true;
			changed = true;
		} else {
			return changed;
		}
	}
}

/* subj-blob at s: "[" *BLOBCHAR "]" *WSP; its length or 0. */
static size_t blob_len(const char *s, size_t len)
{
	if (len == 0 || s[0] != '[')
		return 0;
	size_t i = 1;
	while (i < len && s[i] != '[' && s[i] != ']')
		i++;
	if (i >= len || s[i] != ']')
		return 0;
	i++;
	while (i < len && is_wsp(s[i]))
		i++;
	return i;
}

/* subj-refwd at s: ("re" / "fw" ["d"]) *WSP [subj-blob] ":"; length or 0. */
static size_t refwd_len(const char *s, size_t len)
{
	size_t i;
	if (len >= 2 && strncasecmp(s, "re", 2) == 0)
		i = 2;
	else if (len >= 3 && strncasecmp(s, "fwd", 3) == 0)
		i = 3;
	else if (len >= 2 && strncasecmp(s, "fw", 2) == 0)
		i = 2;
	else
		return 0;
	while (i < len && is_wsp(s[i]))
		i++;
	i += blob_len(s + i, len - i);
	if (i < len && s[i] == ':')
		return i + 1;
	return 0;
}

/* (3): a subj-leader: (*subj-blob subj-refwd) / WSP. */
static size_t leader_len(const char *s, size_t len, bool *reply)
{
	if (len > 0 && is_wsp(s[0]))
		return 1;
	size_t i = 0, b;
	while ((b = blob_len(s + i, len - i)) > 0)
		i += b;
	size_t r = refwd_len(s + i, len - i);
	if (r == 0)
		return 0;
	*reply = true;
	return i + r;
}

void store_base_subject(const char *subject, size_t len, struct msg_buf *out, bool *reply_r)
{
	bool reply = false;
	struct msg_buf dec = { 0 };
	msg_rfc2047_decode(subject, len, &dec);
	/* (1) */
	size_t o = 0;
	for (size_t i = 0; i < dec.len; i++) {
		char c = dec.data[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && o > 0 && dec.data[o - 1] == ' ')
			continue;
		dec.data[o++] = c;
	}
	const char *s = dec.data != NULL ? dec.data : "";
	size_t n = o;
	for (;;) {
		strip_trailers(s, &n, &reply);            /* (2) */
		for (bool changed = true; changed;) {     /* (5) */
			changed = false;
			size_t l = leader_len(s, n, &reply);   /* (3) */
			if (l > 0) {
				s += l;
				n -= l;
				changed = true;
			}
			size_t b = blob_len(s, n);             /* (4) */
			if (b > 0) {
				size_t rest = n - b;
				/* the rest must hold a non-WSP character */
				bool base = false;
				for (size_t k = b; k < n; k++)
					if (!is_wsp(s[k]))
						base = true;
				if (base && rest > 0) {
					s += b;
					n -= b;
					changed = true;
				}
			}
		}
		/* (6) */
		if (n >= 6 && strncasecmp(s, "[fwd:", 5) == 0 && s[n - 1] == ']') {
			s += 5;
			n -= 6;
			reply = true;
			continue;
		}
		break;
	}
	msg_buf_append(out, s, n);
	msg_buf_free(&dec);
	if (reply_r != NULL)
		*reply_r = reply;
}
