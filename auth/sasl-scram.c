/* SASL SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, 7677) and their -PLUS
 * variants with channel binding (RFC 5056, 9266). The server side of the
 * exchange: client-first (GS2 header, user, nonce) -> work: find the
 * user's stored keys -> server-first (nonce, salt, iterations) ->
 * client-final (channel binding, nonce, proof) -> server-final
 * ("v=" signature) -> the client's empty answer. Unknown users and users
 * without SCRAM keys get a stable fake salt and always fail at the proof,
 * so the exchange does not reveal which names exist. Names and passwords
 * are used as the UTF-8 bytes the client sends, without SASLprep, the same
 * bytes the stored keys were made from (as `doveadm pw` makes them). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/password-schemes.h"
#include "auth/sasl-mech.h"
#include "lib/base64.h"
#include "lib/xmem.h"

#define SNONCE_BYTES 18         /* 24 base64 characters */
#define FAKE_SALT_LEN 16

enum stage { ST_FIRST, ST_FINAL, ST_VERIFIED };

struct scram {
	enum stage stage;
	bool asked;                    /* sent the empty first challenge */
	char *gs2_header;              /* "n,," / "y,a=bob," / "p=tls-exporter,," */
	char *authzid;                 /* decoded a=, or NULL */
	char *user;                    /* decoded n= */
	char *client_first_bare;
	char *nonce;                   /* client nonce, then the full nonce */
	char *server_first;
	struct password_scram keys;
	bool real;                     /* keys belong to the user */
	const struct userdb_user *u;
	const struct auth_cb *cb;      /* -PLUS: the binding the client chose */
};

static enum password_scram_hash hash_of(const struct sasl *s)
{
	enum auth_mech m = s->ops->id;
	return m == AUTH_MECH_SCRAM_SHA_1 || m == AUTH_MECH_SCRAM_SHA_1_PLUS
		? PASSWORD_SCRAM_SHA1 : PASSWORD_SCRAM_SHA256;
}

static bool is_plus(const struct sasl *s)
{
	return s->ops->id == AUTH_MECH_SCRAM_SHA_256_PLUS ||
	       s->ops->id == AUTH_MECH_SCRAM_SHA_1_PLUS;
}

/* Whether this connection offers a -PLUS mechanism (a "y" flag is then a
 * downgrade, RFC 5802 section 6). */
static bool plus_offered(const struct sasl *s)
{
	unsigned plus = (1u << AUTH_MECH_SCRAM_SHA_256_PLUS) | (1u << AUTH_MECH_SCRAM_SHA_1_PLUS);
	return auth_conn_has_cb(&s->conn) && (s->auth->s.mechanisms & plus) != 0;
}

/* The connection's binding named by the client's "p=" (len bytes), or
 * NULL. */
static const struct auth_cb *find_cb(const struct sasl *s, const char *name, size_t len)
{
	for (size_t i = 0; i < AUTH_CB_MAX; i++) {
		const struct auth_cb *cb = &s->conn.cb[i];
		if (cb->type != NULL && cb->data != NULL && strlen(cb->type) == len &&
		    memcmp(cb->type, name, len) == 0)
			return cb;
	}
	return NULL;
}

/* saslname: "=2C" is ',', "=3D" is '='; any other '=' or a ',' is an
 * error. Heap string or NULL. */
static char *decode_saslname(const char *in, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == ',' || in[i] == '\0') {
			free(out);
			return NULL;
		}
		if (in[i] == '=') {
			if (i + 2 < len && in[i + 1] == '2' && in[i + 2] == 'C')
				out[o++] = ',';
			else if (i + 2 < len && in[i + 1] == '3' && in[i + 2] == 'D')
				out[o++] = '=';
			else {
				free(out);
				return NULL;
			}
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* Length of the attribute at p up to the next ',' (or end). */
static size_t attr_len(const char *p, const char *end)
{
	const char *c = memchr(p, ',', (size_t)(end - p));
	return c != NULL ? (size_t)(c - p) : (size_t)(end - p);
}

static bool nonce_valid(const char *p, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

/* client-first-message = gs2-header client-first-message-bare */
static int parse_client_first(struct sasl *s, const char *msg, size_t len)
{
	struct scram *c = s->state;
	const char *p = msg, *end = msg + len;
	/* gs2-cbind-flag */
	size_t fl = attr_len(p, end);
	if (p + fl >= end)
		return sasl_malformed(s);
	if (fl == 1 && p[0] == 'n') {
		if (is_plus(s))
			return sasl_finish(s, NULL, AUTH_ECHANNEL);
	} else if (fl == 1 && p[0] == 'y') {
		if (is_plus(s) || plus_offered(s))
			return sasl_finish(s, NULL, AUTH_ECHANNEL);   /* downgrade */
	} else if (fl > 2 && p[0] == 'p' && p[1] == '=') {
		if (!is_plus(s) || (c->cb = find_cb(s, p + 2, fl - 2)) == NULL)
			return sasl_finish(s, NULL, AUTH_ECHANNEL);
	} else {
		return sasl_malformed(s);
	}
	p += fl + 1;
	/* [ "a=" saslname ] "," */
	size_t al = attr_len(p, end);
	if (p + al >= end)
		return sasl_malformed(s);
	if (al > 0) {
		if (al < 3 || p[0] != 'a' || p[1] != '=' ||
		    (c->authzid = decode_saslname(p + 2, al - 2)) == NULL)
			return sasl_malformed(s);
	}
	p += al + 1;
	c->gs2_header = xstrndup(msg, (size_t)(p - msg));
	c->client_first_bare = xstrndup(p, (size_t)(end - p));
	/* client-first-message-bare = [reserved-mext ","] username "," nonce
	 * ["," extensions]; a mandatory extension (m=) is not supported. */
	size_t ul = attr_len(p, end);
	if (ul < 2 || p[0] != 'n' || p[1] != '=' || p + ul >= end ||
	    (c->user = decode_saslname(p + 2, ul - 2)) == NULL)
		return sasl_malformed(s);
	p += ul + 1;
	size_t nl = attr_len(p, end);
	if (nl < 3 || p[0] != 'r' || p[1] != '=' || !nonce_valid(p + 2, nl - 2))
		return sasl_malformed(s);
	c->nonce = xstrndup(p + 2, nl - 2);
	return SASL_NEED_WORK;
}

/* Keys for user u: stored SCRAM keys of this hash, or derived from a
 * {PLAIN} password with a stable salt. */
static bool user_keys(struct sasl *s, const struct userdb_user *u, struct password_scram *k)
{
	enum password_scram_hash h = hash_of(s);
	if (u == NULL)
		return false;
	if (password_scram_parse(u->password, h, k) == 0)
		return true;
	const char *field = h == PASSWORD_SCRAM_SHA1 ? u->fields.scram_sha1 : u->fields.scram_sha256;
	if (field != NULL && password_scram_parse(field, h, k) == 0)
		return true;
	const char *plain = password_plaintext_value(u->password);
	if (plain == NULL)
		return false;
	unsigned char salt[32];
	auth_secret_mac(s->auth, "scram-salt", u->name, salt);
	int r = password_scram_derive(plain, h, salt, FAKE_SALT_LEN,
				      s->auth->s.scram_iterations, k);
	return r == 0;
}

static void scram_work(struct sasl *s)
{
	struct scram *c = s->state;
	auth_refresh(s->auth);
	c->u = auth_resolve(s->auth, c->user, s->login.user);
	if (auth_throttle_check(s->auth, &s->conn, &s->login, sasl_mech(s)) < 0) {
		s->done = true;
		return;
	}
	c->real = user_keys(s, c->u, &c->keys);
	if (!c->real) {
		/* The same salt for the same name every time, iterations as
		 * configured, keys that no proof matches. */
		unsigned char mac[32];
		c->keys = (struct password_scram){
			.hash = hash_of(s), .iterations = s->auth->s.scram_iterations,
			.salt_len = FAKE_SALT_LEN, .key_len = password_scram_key_len(hash_of(s)),
		};
		auth_secret_mac(s->auth, "scram-salt", s->login.user, mac);
		memcpy(c->keys.salt, mac, FAKE_SALT_LEN);
		auth_secret_mac(s->auth, "scram-stored-key", s->login.user, mac);
		memcpy(c->keys.stored_key, mac, c->keys.key_len);
		auth_secret_mac(s->auth, "scram-server-key", s->login.user, mac);
		memcpy(c->keys.server_key, mac, c->keys.key_len);
		x_wipe(mac, sizeof(mac));
	}
}

static int scram_resume(struct sasl *s)
{
	struct scram *c = s->state;
	char snonce[64];
	if (s->test_nonce != NULL) {
		snprintf(snonce, sizeof(snonce), "%s", s->test_nonce);
	} else {
		unsigned char rnd[SNONCE_BYTES];
		if (pw_random_bytes(rnd, sizeof(rnd)) < 0)
			return sasl_finish(s, NULL, AUTH_ETEMP);
		base64_encode(rnd, sizeof(rnd), snonce);
	}
	char salt[BASE64_ENCODED_LEN(PASSWORD_SCRAM_SALT_MAX) + 1];
	base64_encode(c->keys.salt, c->keys.salt_len, salt);
	char *full = xasprintf("%s%s", c->nonce, snonce);
	free(c->nonce);
	c->nonce = full;
	c->server_first = xasprintf("r=%s,s=%s,i=%u", c->nonce, salt, c->keys.iterations);
	c->stage = ST_FINAL;
	return sasl_challenge(s, c->server_first, strlen(c->server_first));
}

static int hmac(const struct sasl *s, const unsigned char *key, size_t key_len,
		const char *msg, unsigned char *out)
{
	unsigned int len = 0;
	const EVP_MD *md = hash_of(s) == PASSWORD_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
	return HMAC(md, key, (int)key_len, (const unsigned char *)msg, strlen(msg), out,
		    &len) != NULL ? 0 : -1;
}

/* client-final-message = "c=" base64 "," "r=" nonce ["," ext] "," "p=" proof */
static int client_final(struct sasl *s, const char *msg, size_t len)
{
	struct scram *c = s->state;
	const char *end = msg + len;
	const char *pp = NULL;
	for (const char *q = msg; q + 3 <= end; q++)   /* the last ",p=" */
		if (q[0] == ',' && q[1] == 'p' && q[2] == '=')
			pp = q;
	if (pp == NULL || len < 2 || msg[0] != 'c' || msg[1] != '=')
		return sasl_malformed(s);
	/* channel binding: base64(gs2-header [cb-data]) */
	size_t cl = attr_len(msg, end);
	size_t gl = strlen(c->gs2_header);
	size_t cb_len = c->cb != NULL ? c->cb->len : 0;
	unsigned char *want = xmalloc(gl + cb_len + 1);
	memcpy(want, c->gs2_header, gl);
	if (cb_len > 0)
		memcpy(want + gl, c->cb->data, cb_len);
	char *want64 = base64_encode_str(want, gl + cb_len);
	bool cb_ok = strlen(want64) == cl - 2 && memcmp(want64, msg + 2, cl - 2) == 0;
	free(want);
	free(want64);
	if (!cb_ok)
		return sasl_finish(s, c->u, AUTH_ECHANNEL);
	const char *r = msg + cl + 1;
	size_t rl = r < end ? attr_len(r, end) : 0;
	if (rl < 2 || r[0] != 'r' || r[1] != '=' || rl - 2 != strlen(c->nonce) ||
	    memcmp(r + 2, c->nonce, rl - 2) != 0)
		return sasl_malformed(s);
	unsigned char proof[PASSWORD_SCRAM_KEY_MAX + 3];
	long n = base64_decode(pp + 3, (size_t)(end - pp - 3), proof, sizeof(proof), false);
	if (n != (long)c->keys.key_len)
		return sasl_malformed(s);
	char *without_proof = xstrndup(msg, (size_t)(pp - msg));
	char *auth_msg = xasprintf("%s,%s,%s", c->client_first_bare, c->server_first,
				   without_proof);
	free(without_proof);
	unsigned char sig[PASSWORD_SCRAM_KEY_MAX], key[PASSWORD_SCRAM_KEY_MAX];
	unsigned char stored[EVP_MAX_MD_SIZE];
	unsigned int sl = 0;
	bool ok = hmac(s, c->keys.stored_key, c->keys.key_len, auth_msg, sig) == 0;
	for (size_t i = 0; ok && i < c->keys.key_len; i++)
		key[i] = proof[i] ^ sig[i];
	ok = ok && EVP_Digest(key, c->keys.key_len, stored, &sl,
			      hash_of(s) == PASSWORD_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256(),
			      NULL) == 1;
	ok = ok && CRYPTO_memcmp(stored, c->keys.stored_key, c->keys.key_len) == 0 && c->real;
	unsigned char server_sig[PASSWORD_SCRAM_KEY_MAX];
	ok = ok && hmac(s, c->keys.server_key, c->keys.key_len, auth_msg, server_sig) == 0;
	x_wipe(proof, sizeof(proof));
	x_wipe(sig, sizeof(sig));
	x_wipe(key, sizeof(key));
	x_wipe(stored, sizeof(stored));
	x_wipe(auth_msg, strlen(auth_msg));
	free(auth_msg);
	int result = ok ? AUTH_OK : AUTH_EFAIL;
	if (result == AUTH_OK && c->authzid != NULL && c->authzid[0] != '\0') {
		char canon[USERDB_NAME_MAX + 1];
		if (auth_resolve(s->auth, c->authzid, canon) != c->u)
			result = AUTH_EAUTHZ;
	}
	/* Conclude before "v=": a disabled account gets no server signature. */
	auth_conclude(s->auth, &s->conn, sasl_mech(s), c->u, result, &s->login);
	if (s->login.result != AUTH_OK) {
		x_wipe(server_sig, sizeof(server_sig));
		s->done = true;
		return s->login.result;
	}
	char v[3 + BASE64_ENCODED_LEN(PASSWORD_SCRAM_KEY_MAX) + 1] = "v=";
	base64_encode(server_sig, c->keys.key_len, v + 2);
	x_wipe(server_sig, sizeof(server_sig));
	c->stage = ST_VERIFIED;
	return sasl_challenge(s, v, strlen(v));
}

static int scram_step(struct sasl *s, const unsigned char *in, size_t len)
{
	struct scram *c = s->state;
	if (in == NULL) {
		c->asked = true;
		return sasl_challenge(s, "", 0);   /* client-first comes next */
	}
	if (memchr(in, '\0', len) != NULL)
		return sasl_malformed(s);
	switch (c->stage) {
	case ST_FIRST:
		if (len == 0 && !c->asked) {
			c->asked = true;   /* an empty initial response */
			return sasl_challenge(s, "", 0);
		}
		return parse_client_first(s, (const char *)in, len);
	case ST_FINAL:
		return client_final(s, (const char *)in, len);
	case ST_VERIFIED:
		/* The client acknowledges "v=" with an empty response. */
		s->done = true;
		if (len != 0)
			s->login.result = AUTH_EMALFORMED;
		return s->login.result;
	}
	return sasl_malformed(s);
}

static void scram_wipe(struct sasl *s)
{
	struct scram *c = s->state;
	sasl_free_secret(&c->gs2_header);
	sasl_free_secret(&c->authzid);
	sasl_free_secret(&c->user);
	sasl_free_secret(&c->client_first_bare);
	sasl_free_secret(&c->nonce);
	sasl_free_secret(&c->server_first);
	x_wipe(&c->keys, sizeof(c->keys));
}

#define SCRAM_OPS(var, mech) \
	const struct sasl_mech_ops var = { \
		.id = mech, .state_size = sizeof(struct scram), .step = scram_step, \
		.work = scram_work, .resume = scram_resume, .wipe = scram_wipe, \
	}

SCRAM_OPS(sasl_mech_scram_sha1, AUTH_MECH_SCRAM_SHA_1);
SCRAM_OPS(sasl_mech_scram_sha1_plus, AUTH_MECH_SCRAM_SHA_1_PLUS);
SCRAM_OPS(sasl_mech_scram_sha256, AUTH_MECH_SCRAM_SHA_256);
SCRAM_OPS(sasl_mech_scram_sha256_plus, AUTH_MECH_SCRAM_SHA_256_PLUS);
