/* The configuration file reader (internal to conf/): turns the text of one
 * file, and the files it includes, into values stored in a loft_config that
 * already holds the defaults. Cross-setting checks happen afterwards in
 * load.c. */
#ifndef LOFT_CONF_PARSE_H
#define LOFT_CONF_PARSE_H

#include "conf/config.h"
#include "conf/settings.h"

#define CONF_INCLUDE_DEPTH_MAX 8
#define CONF_FILE_SIZE_MAX (1024 * 1024)
/* After this many errors in one load, reading stops. */
#define CONF_ERRORS_MAX 20

/* Parse text as the contents of the file at path (absolute; used in messages,
 * for cycle detection and to resolve relative paths). Returns 0, or LOFT_EINVAL with
 * heap "file:line: what; how to fix" messages in *err_r, one line per error
 * found (reading goes on after an error). */
int conf_parse_text(struct loft_config *cfg, const char *path, const char *text,
		    char **err_r);

/* Read a whole configuration file (regular, at most CONF_FILE_SIZE_MAX bytes,
 * no NUL bytes). Returns 0 with a heap string in *text_r, or LOFT_EIO (it
 * could not be read) or LOFT_EINVAL (it is not a small text file) with a heap
 * reason in *why_r (no file name). */
int conf_read_file(const char *path, char **text_r, char **why_r);

/* Store a row's default (if it has one) into base; used for plain sections
 * at load start and for each new [listener]/[certificate] section. */
void conf_apply_defaults(const struct conf_setting *rows, size_t n_rows, void *base);

/* Where the message for origin o starts: "file:line" or, for a default,
 * the main file's path. Caller frees. */
char *conf_origin_text(const struct loft_config *cfg, const struct conf_origin *o);

/* Append err (taken over) to the errors in *errs (NULL: none yet), one per
 * line. */
void conf_error_add(char **errs, char *err);

/* Set *err_r to "<conf_origin_text>: <message>" and return LOFT_EINVAL. */
int conf_fail_at(const struct loft_config *cfg, const struct conf_origin *o, char **err_r,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Append "<conf_origin_text>: <message>" to the errors in *errs. */
void conf_fail_more(const struct loft_config *cfg, const struct conf_origin *o, char **errs,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The origin slot of a plain-section setting. */
const struct conf_origin *conf_origin_of(const struct loft_config *cfg, const char *section,
					 const char *key);

#endif
