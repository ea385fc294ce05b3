/* The configuration file reader: splits a file into lines (LF or CRLF),
 * recognises comments, [section] headers, `key = value` lines with optional
 * double quotes and `include = FILE`, and stores each value through its
 * settings row, remembering file:line per setting. Every error is one
 * "file:line: what is wrong; how to fix it" line, and reading goes on after
 * one so that a file's errors are all reported at once. */
#include "conf/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/value.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/path.h"
#include "lib/xmem.h"

/* State shared by the main file and its includes. */
struct parse_ctx {
	struct loft_config *cfg;
	const char *stack[CONF_INCLUDE_DEPTH_MAX + 1]; /* absolute paths being read */
	int depth;
	char *err;               /* every error so far, one per line */
	unsigned n_errors;
};

/* State of one file being read. */
struct parse_file {
	const char *path;        /* interned in cfg->files */
	char *dir;               /* for relative paths */
	unsigned line;
	const struct conf_section *sec; /* current section or NULL */
	size_t idx;              /* instance of a named section */
	bool skip_section;       /* its header was bad: ignore its keys */
};

static void fail(struct parse_ctx *pc, struct parse_file *pf, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parse_ctx *pc, struct parse_file *pf, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	pc->n_errors++;
	if (pc->n_errors <= CONF_ERRORS_MAX)
		conf_error_add(&pc->err, xasprintf("%s:%u: %s", pf->path, pf->line,
						   msg != NULL ? msg : "error"));
	else if (pc->n_errors == CONF_ERRORS_MAX + 1)
		conf_error_add(&pc->err, xasprintf("%s:%u: more than %d errors; fix these "
						   "first", pf->path, pf->line,
						   CONF_ERRORS_MAX));
	free(msg);
}

void conf_error_add(char **errs, char *err)
{
	if (*errs == NULL) {
		*errs = err;
		return;
	}
	char *both = xasprintf("%s\n%s", *errs, err);
	free(*errs);
	free(err);
	*errs = both;
}

char *conf_origin_text(const struct loft_config *cfg, const struct conf_origin *o)
{
	if (o->file == NULL)
		return xstrdup(cfg->path);
	return xasprintf("%s:%u", o->file, o->line);
}

static char *origin_message(const struct loft_config *cfg, const struct conf_origin *o,
			    const char *fmt, va_list ap)
{
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	char *at = conf_origin_text(cfg, o);
	char *out = xasprintf("%s: %s", at, msg != NULL ? msg : "error");
	free(at);
	free(msg);
	return out;
}

int conf_fail_at(const struct loft_config *cfg, const struct conf_origin *o, char **err_r,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*err_r = origin_message(cfg, o, fmt, ap);
	va_end(ap);
	return LOFT_EINVAL;
}

void conf_fail_more(const struct loft_config *cfg, const struct conf_origin *o, char **errs,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	conf_error_add(errs, origin_message(cfg, o, fmt, ap));
	va_end(ap);
}

void conf_print_errors(FILE *out, const char *prefix, const char *errs, const char *fallback)
{
	if (errs == NULL) {
		fprintf(out, "%s%s\n", prefix, fallback);
		return;
	}
	for (const char *p = errs; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		fprintf(out, "%s%.*s\n", prefix, (int)len, p);
		p += len + (p[len] == '\n');
	}
}

const struct conf_origin *conf_origin_of(const struct loft_config *cfg, const char *section,
					 const char *key)
{
	const struct conf_setting *row = conf_setting_find(conf_section_find(section), key);
	return &cfg->origins[conf_setting_index(row)];
}

void conf_apply_defaults(const struct conf_setting *rows, size_t n_rows, void *base)
{
	for (size_t i = 0; i < n_rows; i++) {
		char *why = NULL;
		if (rows[i].def == NULL)
			continue;
		if (conf_value_set(&rows[i], base, rows[i].def, NULL, &why) < 0) {
			/* A broken table row, caught by the unit tests. */
			log_error("conf: default of %s.%s is invalid: %s", rows[i].section,
				  rows[i].key, why);
			abort();
		}
	}
}

static const char *intern_file(struct loft_config *cfg, const char *path)
{
	cfg->files = xrealloc(cfg->files, (cfg->n_files + 1) * sizeof(*cfg->files));
	cfg->files[cfg->n_files] = xstrdup(path);
	return cfg->files[cfg->n_files++];
}

int conf_read_file(const char *path, char **text_r, char **why_r)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why_r = xstrdup(strerror(errno));
		return LOFT_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		*why_r = xstrdup(strerror(errno));
		close(fd);
		return LOFT_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		*why_r = xstrdup(S_ISDIR(st.st_mode) ? "it is a directory"
						     : "it is not a regular file");
		close(fd);
		return LOFT_EINVAL;
	}
	if (st.st_size > CONF_FILE_SIZE_MAX) {
		*why_r = xasprintf("it is larger than %d bytes", CONF_FILE_SIZE_MAX);
		close(fd);
		return LOFT_EINVAL;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why_r = xstrdup(strerror(errno));
			free(buf);
			close(fd);
			return LOFT_EIO;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			if (cap > CONF_FILE_SIZE_MAX) {
				*why_r = xasprintf("it is larger than %d bytes", CONF_FILE_SIZE_MAX);
				free(buf);
				close(fd);
				return LOFT_EINVAL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[len] = '\0';
	const char *nul = memchr(buf, '\0', len);
	if (nul != NULL) {
		unsigned line = 1;
		for (const char *p = buf; p < nul; p++)
			line += *p == '\n';
		*why_r = xasprintf("line %u contains a NUL byte; it is not a text file", line);
		free(buf);
		return LOFT_EINVAL;
	}
	*text_r = buf;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *skip_blanks(char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* A short printable excerpt of untrusted text for messages. */
static char *excerpt(const char *s)
{
	size_t n = strlen(s);
	bool cut = n > 40;
	char *out = xstrndup(s, cut ? 40 : n);
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (cut) {
		char *longer = xasprintf("%s...", out);
		free(out);
		out = longer;
	}
	return out;
}

static char *section_label(const struct loft_config *cfg, const struct parse_file *pf)
{
	if (!pf->sec->named)
		return xasprintf("[%s]", pf->sec->name);
	const char *name = strcmp(pf->sec->name, "listener") == 0
		? cfg->listeners[pf->idx].name : cfg->sni_certs[pf->idx].name;
	return xasprintf("[%s %s]", pf->sec->name, name);
}

static char *known_keys(const struct conf_section *sec)
{
	size_t len = 1;
	for (size_t i = 0; i < sec->n_rows; i++)
		len += strlen(sec->rows[i].key) + 2;
	char *out = xmalloc(len);
	out[0] = '\0';
	for (size_t i = 0; i < sec->n_rows; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, sec->rows[i].key);
	}
	return out;
}

static char *known_sections(void)
{
	size_t len = 1;
	for (size_t i = 0; i < conf_n_sections; i++)
		len += strlen(conf_sections[i].name) + 10;
	char *out = xmalloc(len);
	out[0] = '\0';
	for (size_t i = 0; i < conf_n_sections; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, "[");
		strcat(out, conf_sections[i].name);
		strcat(out, conf_sections[i].named ? " NAME]" : "]");
	}
	return out;
}

static bool is_listener_sec(const struct conf_section *sec)
{
	return strcmp(sec->name, "listener") == 0;
}

/* The struct a section instance's values live in, and its origin slots. */
static void *section_base(struct loft_config *cfg, const struct parse_file *pf,
			  const struct conf_setting *row, struct conf_origin **origin_r)
{
	if (!pf->sec->named) {
		*origin_r = &cfg->origins[conf_setting_index(row)];
		return cfg;
	}
	size_t k = (size_t)(row - pf->sec->rows);
	if (is_listener_sec(pf->sec)) {
		*origin_r = &cfg->listeners[pf->idx].origins[k];
		return &cfg->listeners[pf->idx];
	}
	*origin_r = &cfg->sni_certs[pf->idx].origins[k];
	return &cfg->sni_certs[pf->idx];
}

static int open_named_section(struct parse_ctx *pc, struct parse_file *pf,
			      const struct conf_section *sec, const char *name)
{
	struct loft_config *cfg = pc->cfg;
	struct conf_origin here = { pf->path, pf->line };
	if (is_listener_sec(sec)) {
		for (size_t i = 0; i < cfg->n_listeners; i++) {
			if (strcmp(cfg->listeners[i].name, name) == 0) {
				char *at = conf_origin_text(cfg, &cfg->listeners[i].origin);
				fail(pc, pf, "duplicate section [listener %s] (first at %s); "
				     "give each listener a unique name", name, at);
				free(at);
				return LOFT_EINVAL;
			}
		}
		cfg->listeners = xrealloc(cfg->listeners,
					  (cfg->n_listeners + 1) * sizeof(*cfg->listeners));
		struct conf_listener *l = &cfg->listeners[cfg->n_listeners];
		memset(l, 0, sizeof(*l));
		l->name = xstrdup(name);
		l->origin = here;
		conf_apply_defaults(sec->rows, sec->n_rows, l);
		pf->idx = cfg->n_listeners++;
	} else {
		for (size_t i = 0; i < cfg->n_sni_certs; i++) {
			if (strcmp(cfg->sni_certs[i].name, name) == 0) {
				char *at = conf_origin_text(cfg, &cfg->sni_certs[i].origin);
				fail(pc, pf, "duplicate section [certificate %s] (first at %s); "
				     "give each certificate a unique name", name, at);
				free(at);
				return LOFT_EINVAL;
			}
		}
		cfg->sni_certs = xrealloc(cfg->sni_certs,
					  (cfg->n_sni_certs + 1) * sizeof(*cfg->sni_certs));
		struct conf_sni_cert *c = &cfg->sni_certs[cfg->n_sni_certs];
		memset(c, 0, sizeof(*c));
		c->name = xstrdup(name);
		c->origin = here;
		conf_apply_defaults(sec->rows, sec->n_rows, c);
		pf->idx = cfg->n_sni_certs++;
	}
	return 0;
}

static int parse_section_header(struct parse_ctx *pc, struct parse_file *pf, char *p);

/* A bad header makes the keys below it meaningless until the next header:
 * they are skipped rather than reported as misplaced. */
static int parse_section(struct parse_ctx *pc, struct parse_file *pf, char *p)
{
	pf->skip_section = false;
	if (parse_section_header(pc, pf, p) < 0) {
		pf->sec = NULL;
		pf->skip_section = true;
		return LOFT_EINVAL;
	}
	return 0;
}

static int parse_section_header(struct parse_ctx *pc, struct parse_file *pf, char *p)
{
	char *close = strchr(p, ']');
	if (close == NULL) {
		fail(pc, pf, "section header without ']'; write it as [name] or [name NAME]");
		return LOFT_EINVAL;
	}
	*close = '\0';
	char *rest = skip_blanks(close + 1);
	if (*rest != '\0' && *rest != '#') {
		char *ex = excerpt(rest);
		fail(pc, pf, "unexpected '%s' after the section header; put comments after '#'", ex);
		free(ex);
		return LOFT_EINVAL;
	}
	char *name = skip_blanks(p + 1), *q = name;
	while (is_name_char(*q))
		q++;
	char *name_end = q;
	q = skip_blanks(q);
	char *arg = q;
	while (is_name_char(*q))
		q++;
	char *arg_end = q;
	q = skip_blanks(q);
	if (name == name_end || *q != '\0') {
		char *ex = excerpt(p);
		fail(pc, pf, "malformed section header '%s]'; write [name] or [name NAME] using "
		     "letters, digits, '_', '-' and '.'", ex);
		free(ex);
		return LOFT_EINVAL;
	}
	*name_end = '\0';
	*arg_end = '\0';
	const struct conf_section *sec = conf_section_find(name);
	if (sec == NULL) {
		char *known = known_sections();
		fail(pc, pf, "unknown section [%s]; known sections: %s", name, known);
		free(known);
		return LOFT_EINVAL;
	}
	if (sec->named && *arg == '\0') {
		fail(pc, pf, "section [%s] needs a name; write [%s NAME], e.g. [%s %s]", name,
		     name, name, is_listener_sec(sec) ? "imap" : "example-net");
		return LOFT_EINVAL;
	}
	if (!sec->named && *arg != '\0') {
		fail(pc, pf, "section [%s] takes no name; write [%s]", name, name);
		return LOFT_EINVAL;
	}
	pf->sec = sec;
	pf->idx = 0;
	if (sec->named)
		return open_named_section(pc, pf, sec, arg);
	return 0;
}

/* Parse a double-quoted value in place starting after the opening quote.
 * Returns a pointer past the closing quote or NULL. */
static char *unquote(struct parse_ctx *pc, struct parse_file *pf, char *p, char **value_r)
{
	char *out = p;
	*value_r = p;
	for (;;) {
		if (*p == '\0') {
			fail(pc, pf, "missing closing '\"'; close the quoted value on the same line");
			return NULL;
		}
		if (*p == '"')
			break;
		if (*p == '\\') {
			if (p[1] != '"' && p[1] != '\\') {
				fail(pc, pf, "unknown escape '\\%c' in quoted value; only \\\" "
				     "and \\\\ are escapes", p[1] != '\0' ? p[1] : ' ');
				return NULL;
			}
			p++;
		}
		*out++ = *p++;
	}
	*out = '\0';
	return p + 1;
}

static int parse_include(struct parse_ctx *pc, struct parse_file *pf, const char *value);

static int unknown_key(struct parse_ctx *pc, struct parse_file *pf, const char *key)
{
	char *label = section_label(pc->cfg, pf), *known = known_keys(pf->sec);
	const struct conf_section *home = conf_section_of_key(key);
	char *lower = xstrdup(key);
	for (char *c = lower; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (strcmp(lower, key) != 0 && conf_setting_find(pf->sec, lower) != NULL)
		fail(pc, pf, "unknown key '%s' in %s; keys are lower-case: write '%s'", key,
		     label, lower);
	else if (home != NULL)
		fail(pc, pf, "unknown key '%s' in %s; '%s' belongs in [%s%s]; known keys: %s",
		     key, label, key, home->name, home->named ? " NAME" : "", known);
	else
		fail(pc, pf, "unknown key '%s' in %s; known keys: %s", key, label, known);
	free(lower);
	free(label);
	free(known);
	return LOFT_EINVAL;
}

static int set_key(struct parse_ctx *pc, struct parse_file *pf, const char *key,
		   const char *value)
{
	if (pf->sec == NULL) {
		const struct conf_section *home = conf_section_of_key(key);
		if (home != NULL)
			fail(pc, pf, "'%s' is outside any section; put it under [%s%s]", key,
			     home->name, home->named ? " NAME" : "");
		else
			fail(pc, pf, "unknown key '%s' outside any section; start a section "
			     "first, e.g. [server]", key);
		return LOFT_EINVAL;
	}
	const struct conf_setting *row = conf_setting_find(pf->sec, key);
	if (row == NULL)
		return unknown_key(pc, pf, key);
	struct conf_origin *origin;
	void *base = section_base(pc->cfg, pf, row, &origin);
	if (origin->file != NULL) {
		char *label = section_label(pc->cfg, pf), *at = conf_origin_text(pc->cfg, origin);
		fail(pc, pf, "duplicate key '%s' in %s (first set at %s); remove one of them",
		     key, label, at);
		free(label);
		free(at);
		return LOFT_EINVAL;
	}
	char *why = NULL;
	if (conf_value_set(row, base, value, pf->dir, &why) < 0) {
		char *label = section_label(pc->cfg, pf);
		fail(pc, pf, "bad value for '%s' in %s: %s", key, label, why);
		free(label);
		free(why);
		return LOFT_EINVAL;
	}
	origin->file = pf->path;
	origin->line = pf->line;
	return 0;
}

static int parse_assignment(struct parse_ctx *pc, struct parse_file *pf, char *p)
{
	char *key = p;
	while (is_name_char(*p))
		p++;
	char *key_end = p;
	p = skip_blanks(p);
	if (key == key_end || *p != '=') {
		char *ex = excerpt(key);
		fail(pc, pf, "expected 'key = value', '[section]' or '# comment' but found '%s'",
		     ex);
		free(ex);
		return LOFT_EINVAL;
	}
	*key_end = '\0';
	p = skip_blanks(p + 1);
	char *value;
	if (*p == '"') {
		p = unquote(pc, pf, p + 1, &value);
		if (p == NULL)
			return LOFT_EINVAL;
		p = skip_blanks(p);
		if (*p != '\0' && *p != '#') {
			char *ex = excerpt(p);
			fail(pc, pf, "unexpected '%s' after the quoted value of '%s'; put "
			     "comments after '#'", ex, key);
			free(ex);
			return LOFT_EINVAL;
		}
	} else {
		value = p;
		char *hash = strchr(p, '#');
		char *end = hash != NULL ? hash : p + strlen(p);
		while (end > value && is_blank(end[-1]))
			end--;
		*end = '\0';
	}
	if (strcmp(key, "include") == 0)
		return parse_include(pc, pf, value);
	return set_key(pc, pf, key, value);
}

static int parse_line(struct parse_ctx *pc, struct parse_file *pf, char *line)
{
	char *p = skip_blanks(line);
	if (*p == '\0' || *p == '#')
		return 0;
	if (*p == '[')
		return parse_section(pc, pf, p);
	if (pf->skip_section)
		return 0;
	return parse_assignment(pc, pf, p);
}

static int parse_file_text(struct parse_ctx *pc, const char *path, const char *text)
{
	struct parse_file pf = { .path = intern_file(pc->cfg, path), .dir = path_dir_of(path) };
	char *copy = xstrdup(text), *p = copy;
	int ret = 0;
	if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
	    (unsigned char)p[2] == 0xbf)
		p += 3; /* UTF-8 byte order mark */
	while (*p != '\0' || p == copy) {
		char *nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		size_t len = strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			p[len - 1] = '\0';
		pf.line++;
		if (parse_line(pc, &pf, p) < 0)
			ret = -1;
		if (nl == NULL || pc->n_errors > CONF_ERRORS_MAX)
			break;
		p = nl + 1;
	}
	free(copy);
	free(pf.dir);
	return ret;
}

static char *include_chain(const struct parse_ctx *pc, const char *again)
{
	size_t len = strlen(again) + 1;
	for (int i = 0; i <= pc->depth; i++)
		len += strlen(pc->stack[i]) + 4;
	char *out = xmalloc(len);
	out[0] = '\0';
	for (int i = 0; i <= pc->depth; i++) {
		strcat(out, pc->stack[i]);
		strcat(out, " -> ");
	}
	strcat(out, again);
	return out;
}

static int parse_include(struct parse_ctx *pc, struct parse_file *pf, const char *value)
{
	if (value[0] == '\0') {
		fail(pc, pf, "include needs a file name; write include = FILE");
		return LOFT_EINVAL;
	}
	if (pc->depth >= CONF_INCLUDE_DEPTH_MAX) {
		fail(pc, pf, "includes are nested more than %d deep; include the files from "
		     "fewer levels", CONF_INCLUDE_DEPTH_MAX);
		return LOFT_EINVAL;
	}
	char *target = conf_resolve_path(pf->dir, value);
	char *real = realpath(target, NULL);
	if (real == NULL) {
		fail(pc, pf, "cannot read include file '%s': %s; check the path (relative "
		     "paths are relative to %s)", target, strerror(errno), pf->dir);
		free(target);
		return LOFT_EINVAL;
	}
	free(target);
	for (int i = 0; i <= pc->depth; i++) {
		if (strcmp(pc->stack[i], real) == 0) {
			char *chain = include_chain(pc, real);
			fail(pc, pf, "include cycle: %s; remove one of these includes", chain);
			free(chain);
			free(real);
			return LOFT_EINVAL;
		}
	}
	char *text = NULL, *why = NULL;
	if (conf_read_file(real, &text, &why) < 0) {
		fail(pc, pf, "cannot read include file '%s': %s; include a readable "
		     "configuration file", real, why);
		free(why);
		free(real);
		return LOFT_EINVAL;
	}
	pc->stack[++pc->depth] = real;
	int ret = parse_file_text(pc, real, text);
	pc->depth--;
	free(real);
	free(text);
	return ret;
}

int conf_parse_text(struct loft_config *cfg, const char *path, const char *text,
		    char **err_r)
{
	struct parse_ctx pc = { .cfg = cfg, .depth = 0 };
	pc.stack[0] = path;
	if (parse_file_text(&pc, path, text) < 0 || pc.err != NULL) {
		*err_r = pc.err;
		return LOFT_EINVAL;
	}
	return 0;
}
