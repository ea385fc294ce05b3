/* The split-point driver shared by the parser unit tests and their fuzz
 * targets: a resumable parser must give the same result however its input
 * is cut. A target says how to start a parser, feed it a piece and finish
 * with a transcript of what it reported; the driver feeds the input whole,
 * in two and in three pieces, each piece in an exact-size heap copy of the
 * unconsumed bytes (so a read past the given length trips ASan), and
 * compares the transcripts. Header-only; for tests and fuzz targets. */
#ifndef LOFT_TESTS_SPLIT_H
#define LOFT_TESTS_SPLIT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unconsumed input: the parser sees pend[0..plen), an exact-size copy. */
struct split_in {
	char *pend;
	size_t plen;
};

static inline void *split_alloc_(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

static inline void split_in_init(struct split_in *in)
{
	in->pend = split_alloc_(0);
	in->plen = 0;
}

/* Append n bytes, moving everything into a new exact-size buffer. */
static inline void split_in_append(struct split_in *in, const void *p, size_t n)
{
	char *nb = split_alloc_(in->plen + n);
	memcpy(nb, in->pend, in->plen);
	if (n > 0)
		memcpy(nb + in->plen, p, n);
	free(in->pend);
	in->pend = nb;
	in->plen += n;
}

/* Drop the first n bytes (the parser consumed them); n > plen aborts. */
static inline void split_in_consume(struct split_in *in, size_t n)
{
	if (n > in->plen)
		abort();
	size_t rest = in->plen - n;
	char *nb = split_alloc_(rest);
	memcpy(nb, in->pend + n, rest);
	free(in->pend);
	in->pend = nb;
	in->plen = rest;
}

static inline void split_in_free(struct split_in *in)
{
	free(in->pend);
	in->pend = NULL;
	in->plen = 0;
}

/* A transcript being written: NUL-terminated, grows as needed. */
struct split_out {
	char *buf;
	size_t len, cap;
};

static inline void split_out_put(struct split_out *o, const void *p, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2 + 64;
		o->buf = realloc(o->buf, o->cap);
		if (o->buf == NULL)
			abort();
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static inline void split_out_str(struct split_out *o, const char *s)
{
	split_out_put(o, s, strlen(s));
}

static inline void split_out_printf(struct split_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void split_out_printf(struct split_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	char *tmp = split_alloc_((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	split_out_put(o, tmp, (size_t)n);
	free(tmp);
}

/* A parser under test. start makes the driver state for one feeding (arg
 * is the caller's, e.g. limits); feed hands it the next piece; finish adds
 * what is left over to the transcript, frees the state and returns the
 * transcript (heap, NUL-terminated) with its length. */
struct split_target {
	void *(*start)(const void *arg);
	void (*feed)(void *drv, const char *p, size_t n);
	char *(*finish)(void *drv, size_t *len_r);
};

/* The transcript of input fed as [0,i) [i,j) [j,len); i <= j <= len. */
static inline char *split_run3(const struct split_target *t, const void *arg, const char *input,
			       size_t len, size_t i, size_t j, size_t *olen_r)
{
	void *drv = t->start(arg);
	t->feed(drv, input, i);
	t->feed(drv, input + i, j - i);
	t->feed(drv, input + j, len - j);
	return t->finish(drv, olen_r);
}

/* Feed input whole, then split in two and in three pieces at every
 * position. Returns NULL when every transcript equals want (want_len
 * bytes), else the first one that differs (heap) with its split points in
 * *i_r and *j_r. */
static inline char *split_check_all(const struct split_target *t, const void *arg,
				    const char *input, size_t len, const char *want,
				    size_t want_len, size_t *i_r, size_t *j_r)
{
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			size_t olen;
			char *got = split_run3(t, arg, input, len, i, j, &olen);
			if (olen != want_len || memcmp(got, want, olen) != 0) {
				*i_r = i;
				*j_r = j;
				return got;
			}
			free(got);
		}
	}
	return NULL;
}

#endif
