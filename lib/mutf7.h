/* Modified UTF-7 (RFC 3501 5.1.3), the IMAP encoding of mailbox names,
 * converted to and from UTF-8 (the store's names). Strict: invalid base64,
 * non-canonical encodings, unpaired surrogates, an unclosed '&' or a
 * directly encodable character inside a base64 run are refused. */
#ifndef LOFT_LIB_MUTF7_H
#define LOFT_LIB_MUTF7_H

/* Heap strings, or NULL for invalid input (or NULL input). */
char *mutf7_to_utf8(const char *mutf7);
char *utf8_to_mutf7(const char *utf8);

#endif
