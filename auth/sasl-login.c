/* SASL LOGIN (draft-murchison-sasl-login): the server asks "Username:" and
 * "Password:" and the client answers each; an initial response is the user
 * name (as SMTP clients send it with AUTH LOGIN). */
#include <string.h>

#include "auth/sasl-mech.h"

struct login {
	char *user, *passwd;
	bool asked;
};

static int login_step(struct sasl *s, const unsigned char *in, size_t len)
{
	struct login *l = s->state;
	if (l->user == NULL) {
		if (in == NULL || (len == 0 && !l->asked)) {
			l->asked = true;   /* no (or an empty) initial response */
			return sasl_challenge(s, "Username:", 9);
		}
		l->user = sasl_strndup(in, len);
		if (l->user == NULL)
			return sasl_malformed(s);
		return sasl_challenge(s, "Password:", 9);
	}
	l->passwd = sasl_strndup(in, len);
	if (l->passwd == NULL)
		return sasl_malformed(s);
	return SASL_NEED_WORK;
}

static void login_work(struct sasl *s)
{
	struct login *l = s->state;
	sasl_password_work(s, NULL, l->user, l->passwd);
	sasl_free_secret(&l->passwd);
}

static int login_resume(struct sasl *s)
{
	return s->login.result;
}

static void login_wipe(struct sasl *s)
{
	struct login *l = s->state;
	sasl_free_secret(&l->user);
	sasl_free_secret(&l->passwd);
}

const struct sasl_mech_ops sasl_mech_login = {
	.id = AUTH_MECH_LOGIN,
	.state_size = sizeof(struct login),
	.step = login_step,
	.work = login_work,
	.resume = login_resume,
	.wipe = login_wipe,
};
