/* The settings tables (internal to conf/): every configuration key is one row
 * naming its section, type, default, range, reloadability and a one-line doc.
 * The loader, the reload check, conf_write_doc() and therefore docs/CONFIG.md
 * and conf/loft.conf are all driven by these rows. */
#ifndef LOFT_CONF_SETTINGS_H
#define LOFT_CONF_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_T_STRING,   /* free text without control characters */
	CONF_T_PATH,     /* file system path; relative to the setting file's dir */
	CONF_T_BOOL,     /* yes|no|true|false|on|off */
	CONF_T_UINT,     /* decimal integer */
	CONF_T_SIZE,     /* bytes, optional K/M/G suffix (1024-based) */
	CONF_T_DURATION, /* ms/s/m/h suffix, plain number = seconds; stored in ms */
	CONF_T_ENUM,     /* one of the row's names */
	CONF_T_ADDRESS,  /* IPv4 or IPv6 literal, no brackets */
	CONF_T_HOSTNAME, /* DNS name (with CONF_F_WILDCARD also *.example.org) */
	CONF_T_DOMAINS,  /* space separated DNS names, stored lower-case */
	CONF_T_CIPHERS,  /* OpenSSL cipher list / TLS 1.3 suite list syntax */
	CONF_T_WORDS,    /* space separated subset of the row's names
			  * (case-insensitive); stored as a bit mask of
			  * (1u << value) */
	CONF_T_MAILBOXES, /* "Name \\Use, Name" list (conf/mailboxes.h) */
	CONF_T_MODE,     /* octal file permission mode, 0..07777 */
};

struct conf_enum_name {
	const char *name;
	int value;
};

#define CONF_F_RELOAD   0x01u /* takes effect on SIGHUP without a restart */
#define CONF_F_REQUIRED 0x02u /* [listener]/[certificate]: must be set */
#define CONF_F_AUTO     0x04u /* uint: "auto" accepted, stored as 0 */
#define CONF_F_STDERR   0x08u /* path: the word "stderr" is kept as is */
#define CONF_F_WILDCARD 0x10u /* hostname: a leading "*." is allowed */

struct conf_setting {
	const char *section;  /* "server", ..., "listener", "certificate" */
	const char *key;
	enum conf_type type;
	size_t offset;        /* field in the section's struct */
	size_t size;          /* sizeof the field (integers: 1, 2, 4 or 8) */
	const char *def;      /* default as configuration text; NULL: unset or computed */
	const char *def_doc;  /* shown instead of def when def is NULL */
	uint64_t min, max;    /* numeric types, in stored units (bytes, ms) */
	const struct conf_enum_name *names; /* CONF_T_ENUM/WORDS, NULL-terminated */
	unsigned flags;
	const char *example;  /* loft.conf value when def is NULL */
	const char *doc;      /* one line */
};

/* A section kind. Plain sections map onto struct loft_config; named ones
 * ([listener NAME], [certificate NAME]) are repeatable and each instance is
 * one struct conf_listener / conf_sni_cert. */
struct conf_section {
	const char *name;
	bool named;
	const struct conf_setting *rows;
	size_t n_rows;
	const char *doc;      /* paragraph for docs/CONFIG.md */
};

/* All rows of the plain sections, in section order; loft_config.origins is
 * parallel to this array. */
extern const struct conf_setting conf_settings[];
extern const size_t conf_n_settings;

/* [auth] mechanisms: the SASL mechanism names and their bits. */
extern const struct conf_enum_name conf_mechanism_names[];

extern const struct conf_section conf_sections[];
extern const size_t conf_n_sections;

const struct conf_section *conf_section_find(const char *name);
const struct conf_setting *conf_setting_find(const struct conf_section *sec, const char *key);
/* The section a key belongs to, searching every section (for hints). */
const struct conf_section *conf_section_of_key(const char *key);
/* Index of a plain-section row in conf_settings (for loft_config.origins). */
size_t conf_setting_index(const struct conf_setting *row);

#endif
