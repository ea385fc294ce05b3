/* The SASL driver: starting a mechanism (policy checks), decoding and
 * bounding client responses (cancel, base64, length), encoding challenges,
 * the step/work/resume protocol around the mechanism files, and the
 * password work PLAIN and LOGIN share. See sasl.h for how front ends drive
 * it. */
#include "auth/sasl-mech.h"

#include <string.h>

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/xmem.h"

static const struct sasl_mech_ops *const mechs[AUTH_MECH_COUNT] = {
	[AUTH_MECH_SCRAM_SHA_256_PLUS] = &sasl_mech_scram_sha256_plus,
	[AUTH_MECH_SCRAM_SHA_256] = &sasl_mech_scram_sha256,
	[AUTH_MECH_SCRAM_SHA_1_PLUS] = &sasl_mech_scram_sha1_plus,
	[AUTH_MECH_SCRAM_SHA_1] = &sasl_mech_scram_sha1,
	[AUTH_MECH_CRAM_MD5] = &sasl_mech_cram_md5,
	[AUTH_MECH_PLAIN] = &sasl_mech_plain,
	[AUTH_MECH_LOGIN] = &sasl_mech_login,
};

int sasl_start(struct auth *auth, const struct auth_conn *conn, const char *name,
	       struct sasl **s_r)
{
	*s_r = NULL;
	int m = auth_mech_find(name);
	if (m < 0 || !(auth->s.mechanisms & (1u << m)))
		return AUTH_ENOMECH;
	if ((m == AUTH_MECH_SCRAM_SHA_256_PLUS || m == AUTH_MECH_SCRAM_SHA_1_PLUS) &&
	    !auth_conn_has_cb(conn))
		return AUTH_ENOMECH;
	if (auth_mech_is_plaintext((enum auth_mech)m) && !auth_plaintext_allowed(auth, conn))
		return AUTH_EPRIVACY;
	struct sasl *s = xcalloc(1, sizeof(*s));
	s->ops = mechs[m];
	s->auth = auth;
	s->conn = *conn;
	s->conn.remote_addr = conn->remote_addr != NULL ? xstrdup(conn->remote_addr) : NULL;
	for (size_t i = 0; i < AUTH_CB_MAX; i++) {
		const struct auth_cb *from = &conn->cb[i];
		if (from->type == NULL || from->data == NULL) {
			s->conn.cb[i] = (struct auth_cb){ 0 };
			continue;
		}
		unsigned char *cb = xmalloc(from->len + 1);
		memcpy(cb, from->data, from->len);
		s->conn.cb[i] = (struct auth_cb){ xstrdup(from->type), cb, from->len };
	}
	auth_login_init(&s->login);
	s->first = true;
	s->state = xcalloc(1, s->ops->state_size);
	*s_r = s;
	return 0;
}

void sasl_set_test_nonce(struct sasl *s, const char *nonce)
{
	free(s->test_nonce);
	s->test_nonce = xstrdup(nonce);
}

const struct auth_login *sasl_login(const struct sasl *s)
{
	return &s->login;
}

const char *sasl_mech(const struct sasl *s)
{
	return auth_mech_name(s->ops->id);
}

void sasl_free_secret(char **p)
{
	if (*p != NULL) {
		x_wipe(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void sasl_free(struct sasl **sp)
{
	struct sasl *s = *sp;
	if (s == NULL)
		return;
	if (s->ops->wipe != NULL)
		s->ops->wipe(s);
	x_wipe(s->state, s->ops->state_size);
	free(s->state);
	sasl_free_secret(&s->challenge);
	free(s->test_nonce);
	free((char *)s->conn.remote_addr);
	for (size_t i = 0; i < AUTH_CB_MAX; i++) {
		free((char *)s->conn.cb[i].type);
		if (s->conn.cb[i].data != NULL)
			x_wipe((void *)s->conn.cb[i].data, s->conn.cb[i].len);
		free((void *)s->conn.cb[i].data);
	}
	free(s);
	*sp = NULL;
}

int sasl_challenge(struct sasl *s, const void *bytes, size_t len)
{
	sasl_free_secret(&s->challenge);
	s->challenge = base64_encode_str(bytes, len);
	return SASL_CONTINUE;
}

int sasl_finish(struct sasl *s, const struct userdb_user *u, int result)
{
	auth_conclude(s->auth, &s->conn, sasl_mech(s), u, result, &s->login);
	s->done = true;
	return s->login.result;
}

int sasl_malformed(struct sasl *s)
{
	return sasl_finish(s, NULL, AUTH_EMALFORMED);
}

char *sasl_strndup(const unsigned char *in, size_t len)
{
	if (memchr(in, '\0', len) != NULL)
		return NULL;
	return xstrndup((const char *)in, len);
}

/* A final result reached outside sasl_finish (cancel, bad base64, ...). */
static int end(struct sasl *s, int result)
{
	s->done = true;
	s->login.result = result;
	log_info("auth: login aborted service=%s mech=%s addr=%s result=%s",
		 userdb_service_name(s->conn.service), sasl_mech(s),
		 s->conn.remote_addr != NULL ? s->conn.remote_addr : "-", auth_strerror(result));
	return result;
}

/* Map a mechanism's return value: finals mark the machine done. */
static int after(struct sasl *s, int r, const char **challenge_r)
{
	*challenge_r = NULL;
	if (r == SASL_CONTINUE) {
		*challenge_r = s->challenge != NULL ? s->challenge : "";
		return r;
	}
	if (r == SASL_NEED_WORK) {
		s->working = true;
		return r;
	}
	if (!s->done)
		return end(s, r);
	return r;
}

int sasl_step(struct sasl *s, const char *response, size_t len, const char **challenge_r)
{
	*challenge_r = NULL;
	if (s->done || s->working)
		return s->done ? s->login.result : AUTH_ETEMP;  /* misuse */
	bool first = s->first;
	s->first = false;
	if (response == NULL) {
		if (!first)
			return end(s, AUTH_EMALFORMED);
		return after(s, s->ops->step(s, NULL, 0), challenge_r);
	}
	if (len == 1 && response[0] == '*')
		return end(s, AUTH_ECANCEL);
	if (len > s->auth->s.max_response)
		return end(s, AUTH_ETOOLONG);
	if (first && len == 1 && response[0] == '=')
		len = 0;   /* SASL-IR: "=" is an empty initial response */
	size_t cap = BASE64_DECODED_MAX(len);
	unsigned char *buf = xmalloc(cap + 1);
	long n = base64_decode(response, len, buf, cap, false);
	int r;
	if (n < 0)
		r = end(s, AUTH_EBASE64);
	else
		r = after(s, s->ops->step(s, buf, (size_t)n), challenge_r);
	x_wipe(buf, cap + 1);
	free(buf);
	return r;
}

void sasl_work(struct sasl *s)
{
	if (s->working && s->ops->work != NULL)
		s->ops->work(s);
}

int sasl_resume(struct sasl *s, const char **challenge_r)
{
	*challenge_r = NULL;
	if (!s->working)
		return s->done ? s->login.result : AUTH_ETEMP;  /* misuse */
	s->working = false;
	if (s->done)
		return s->login.result;
	return after(s, s->ops->resume(s), challenge_r);
}

void sasl_password_work(struct sasl *s, const char *authzid, const char *user,
			const char *password)
{
	int result;
	const struct userdb_user *u = auth_check_password(s->auth, &s->conn, sasl_mech(s),
							  user, password, &s->login, &result);
	if (result == AUTH_ETHROTTLED) {
		s->done = true;
		return;
	}
	if (result == AUTH_OK && authzid != NULL && authzid[0] != '\0') {
		char canon[USERDB_NAME_MAX + 1];
		const struct userdb_user *z = auth_resolve(s->auth, authzid, canon);
		if (z == NULL || z != u)
			result = AUTH_EAUTHZ;
	}
	(void)sasl_finish(s, u, result);
}
