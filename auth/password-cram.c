/* CRAM-MD5 stored contexts (RFC 2195 with Dovecot's storage): the MD5
 * states after the HMAC inner and outer pad blocks, so HMAC-MD5(password,
 * challenge) can be finished without the password. OpenSSL's EVP cannot
 * resume a digest from a saved state, so this file alone uses the low-level
 * MD5_CTX API, deprecated in OpenSSL 3 but present in Debian's build. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/md5.h>

#include "auth/password-schemes.h"
#include "lib/xmem.h"

#define BLOCK 64

static void put_le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int password_cram_md5_context(const char *password, unsigned char ctx_r[PASSWORD_CRAM_CONTEXT_LEN])
{
	unsigned char key[BLOCK], pad[BLOCK];
	size_t len = strlen(password);
	memset(key, 0, sizeof(key));
	if (len > BLOCK)
		MD5((const unsigned char *)password, len, key);
	else
		memcpy(key, password, len);
	MD5_CTX in, out;
	for (int i = 0; i < BLOCK; i++)
		pad[i] = key[i] ^ 0x36;
	MD5_Init(&in);
	MD5_Update(&in, pad, BLOCK);
	for (int i = 0; i < BLOCK; i++)
		pad[i] = key[i] ^ 0x5c;
	MD5_Init(&out);
	MD5_Update(&out, pad, BLOCK);
	/* Dovecot's order: outer state first, then inner. */
	put_le(ctx_r + 0, out.A);
	put_le(ctx_r + 4, out.B);
	put_le(ctx_r + 8, out.C);
	put_le(ctx_r + 12, out.D);
	put_le(ctx_r + 16, in.A);
	put_le(ctx_r + 20, in.B);
	put_le(ctx_r + 24, in.C);
	put_le(ctx_r + 28, in.D);
	x_wipe(key, sizeof(key));
	x_wipe(pad, sizeof(pad));
	x_wipe(&in, sizeof(in));
	x_wipe(&out, sizeof(out));
	return PASSWORD_OK;
}

/* An MD5 context that has hashed one 64-byte block and is at state. */
static void resume(MD5_CTX *c, const unsigned char *state)
{
	MD5_Init(c);
	c->A = get_le(state);
	c->B = get_le(state + 4);
	c->C = get_le(state + 8);
	c->D = get_le(state + 12);
	c->Nl = BLOCK * 8;
	c->Nh = 0;
	c->num = 0;
}

int password_cram_md5_hmac(const unsigned char ctx[PASSWORD_CRAM_CONTEXT_LEN],
			   const void *msg, size_t len, unsigned char digest_r[16])
{
	MD5_CTX c;
	unsigned char inner[16];
	resume(&c, ctx + 16);
	MD5_Update(&c, msg, len);
	MD5_Final(inner, &c);
	resume(&c, ctx);
	MD5_Update(&c, inner, sizeof(inner));
	MD5_Final(digest_r, &c);
	x_wipe(inner, sizeof(inner));
	x_wipe(&c, sizeof(c));
	return PASSWORD_OK;
}

int password_cram_md5_parse(const char *stored, unsigned char ctx_r[PASSWORD_CRAM_CONTEXT_LEN])
{
	if (stored == NULL || strncasecmp(stored, "{CRAM-MD5}", 10) != 0)
		return PASSWORD_EMALFORMED;
	const char *hex = stored + 10;
	if (strlen(hex) != 2 * PASSWORD_CRAM_CONTEXT_LEN ||
	    pw_hex_decode(hex, ctx_r, PASSWORD_CRAM_CONTEXT_LEN) != PASSWORD_CRAM_CONTEXT_LEN)
		return PASSWORD_EMALFORMED;
	return PASSWORD_OK;
}

int password_cram_md5_make(const char *password, char **out_r)
{
	unsigned char ctx[PASSWORD_CRAM_CONTEXT_LEN];
	char hex[2 * PASSWORD_CRAM_CONTEXT_LEN + 1];
	password_cram_md5_context(password, ctx);
	pw_hex_encode(ctx, sizeof(ctx), hex);
	*out_r = xasprintf("{CRAM-MD5}%s", hex);
	x_wipe(ctx, sizeof(ctx));
	x_wipe(hex, sizeof(hex));
	return PASSWORD_OK;
}

int pw_cram_verify(const char *password, const char *rest)
{
	unsigned char want[PASSWORD_CRAM_CONTEXT_LEN], got[PASSWORD_CRAM_CONTEXT_LEN];
	if (strlen(rest) != 2 * PASSWORD_CRAM_CONTEXT_LEN ||
	    pw_hex_decode(rest, want, sizeof(want)) != PASSWORD_CRAM_CONTEXT_LEN)
		return PASSWORD_EMALFORMED;
	password_cram_md5_context(password, got);
	int ret = CRYPTO_memcmp(want, got, sizeof(want)) == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
	x_wipe(want, sizeof(want));
	x_wipe(got, sizeof(got));
	return ret;
}
