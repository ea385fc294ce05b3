/* The generated tables of lib/casemap.c (lib/casemap-data.c, made by
 * lib/casemap-gen.pl): one entry per code point whose i;unicode-casemap form
 * differs from itself, sorted by code point, pointing at that form's UTF-8
 * in casemap_pool. Only lib/casemap.c includes this. */
#ifndef LOFT_LIB_CASEMAP_DATA_H
#define LOFT_LIB_CASEMAP_DATA_H

#include <stddef.h>
#include <stdint.h>

struct casemap_entry {
	uint32_t cp;
	uint16_t off;
	uint8_t len;
};

extern const char casemap_unicode_version[];
extern const size_t casemap_n_entries;
extern const struct casemap_entry casemap_entries[];
extern const char casemap_pool[];

#endif
