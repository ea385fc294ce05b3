/* SASL PLAIN (RFC 4616): one message "authzid NUL authcid NUL passwd",
 * checked like a password login; an authorization identity other than the
 * user's own is refused (no master users). */
#include <string.h>

#include "auth/sasl-mech.h"

struct plain {
	char *authzid, *authcid, *passwd;
};

static int plain_step(struct sasl *s, const unsigned char *in, size_t len)
{
	struct plain *p = s->state;
	if (in == NULL)
		return sasl_challenge(s, "", 0);   /* ask for the message */
	const unsigned char *nul1 = memchr(in, '\0', len);
	const unsigned char *nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0',
						len - (size_t)(nul1 + 1 - in)) : NULL;
	if (nul2 == NULL || nul2 == nul1 + 1)   /* two NULs, authcid not empty */
		return sasl_malformed(s);
	p->authzid = sasl_strndup(in, (size_t)(nul1 - in));
	p->authcid = sasl_strndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
	p->passwd = sasl_strndup(nul2 + 1, len - (size_t)(nul2 + 1 - in));
	if (p->authzid == NULL || p->authcid == NULL || p->passwd == NULL)
		return sasl_malformed(s);       /* a third NUL */
	return SASL_NEED_WORK;
}

static void plain_work(struct sasl *s)
{
	struct plain *p = s->state;
	sasl_password_work(s, p->authzid, p->authcid, p->passwd);
	sasl_free_secret(&p->passwd);
}

static int plain_resume(struct sasl *s)
{
	return s->login.result;
}

static void plain_wipe(struct sasl *s)
{
	struct plain *p = s->state;
	sasl_free_secret(&p->authzid);
	sasl_free_secret(&p->authcid);
	sasl_free_secret(&p->passwd);
}

const struct sasl_mech_ops sasl_mech_plain = {
	.id = AUTH_MECH_PLAIN,
	.state_size = sizeof(struct plain),
	.step = plain_step,
	.work = plain_work,
	.resume = plain_resume,
	.wipe = plain_wipe,
};
