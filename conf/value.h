/* Configuration value types (internal to conf/, used by the unit tests):
 * parsing the text of sizes, durations, booleans, integers, enums, addresses
 * and host names; storing a parsed value into a struct field described by a
 * settings row; and formatting stored values back to text for docs and
 * messages. */
#ifndef LOFT_CONF_VALUE_H
#define LOFT_CONF_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/settings.h"

/* Each returns 0, or LOFT_EINVAL when the text is not a valid value of the
 * type. */
int conf_parse_uint(const char *s, uint64_t *v_r);
int conf_parse_size(const char *s, uint64_t *v_r);        /* "50M" -> bytes */
int conf_parse_duration(const char *s, uint64_t *ms_r);   /* "30m" -> ms */
int conf_parse_bool(const char *s, bool *v_r);
/* An octal file mode, 0 to 07777 ("0660", "660"). */
int conf_parse_mode(const char *s, uint64_t *v_r);
int conf_parse_address(const char *s);                    /* IP literal */
int conf_parse_hostname(const char *s, bool wildcard);

/* Parse text as row's type and store it into the struct at base (whose old
 * string, if any, is freed). dir resolves relative paths. On failure returns
 * LOFT_EINVAL and a heap message saying what is wrong with the value and what would
 * be valid (no file:line, no key) in *why_r. */
int conf_value_set(const struct conf_setting *row, void *base, const char *text,
		   const char *dir, char **why_r);

/* Read an integer field (uint/size/duration/enum/bool) of base. */
uint64_t conf_value_get_uint(const struct conf_setting *row, const void *base);
/* The string field of base, or NULL (string/path/address/... types). */
const char *conf_value_get_str(const struct conf_setting *row, const void *base);
/* Whether the field is equal in a and b. */
bool conf_value_equal(const struct conf_setting *row, const void *a, const void *b);
/* The stored value as configuration text; caller frees. */
char *conf_value_format(const struct conf_setting *row, const void *base);

/* Text forms: "50M", "30m", "1500ms"; caller frees. */
char *conf_format_size(uint64_t bytes);
char *conf_format_duration(uint64_t ms);
/* The row's type in words with an example, e.g. "a size in bytes with an
 * optional K, M or G suffix (e.g. 50M)". Static string. */
const char *conf_type_help(const struct conf_setting *row);
/* The short type name for docs ("size", "duration", ...). Static string. */
const char *conf_type_name(enum conf_type type);
/* Range in words for numeric rows, e.g. "1..65535", "at least 29m"; NULL if
 * the row has none. Caller frees. */
char *conf_range_text(const struct conf_setting *row);
/* "a, b or c" for enum rows; caller frees. */
char *conf_enum_list(const struct conf_setting *row);

/* Join dir and a relative path (absolute paths are copied); caller frees. */
char *conf_resolve_path(const char *dir, const char *path);

#endif
