/* The authentication service: creating it from settings (users file, app
 * passwords, login state, throttle, fake-salt secret), the plaintext policy,
 * the advertised mechanism list, and the password login; plus the shared
 * login steps of auth-internal.h (resolve, throttle, conclude). */
#include "auth/auth-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/afile.h"
#include "auth/password-schemes.h"
#include "lib/log.h"
#include "lib/xmem.h"

static const char *const mech_names[AUTH_MECH_COUNT] = {
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1",
	"CRAM-MD5", "PLAIN", "LOGIN",
};

const char *auth_mech_name(enum auth_mech mech)
{
	return (unsigned)mech < AUTH_MECH_COUNT ? mech_names[mech] : "?";
}

int auth_mech_find(const char *name)
{
	for (int i = 0; i < AUTH_MECH_COUNT; i++)
		if (name != NULL && strcasecmp(name, mech_names[i]) == 0)
			return i;
	return -1;
}

bool auth_mech_is_plaintext(enum auth_mech mech)
{
	return mech == AUTH_MECH_PLAIN || mech == AUTH_MECH_LOGIN;
}

const char *auth_strerror(int result)
{
	switch (result) {
	case AUTH_OK: return "OK";
	case AUTH_EFAIL: return "EFAIL";
	case AUTH_EDISABLED: return "EDISABLED";
	case AUTH_EAUTHZ: return "EAUTHZ";
	case AUTH_ETHROTTLED: return "ETHROTTLED";
	case AUTH_ECANCEL: return "ECANCEL";
	case AUTH_EBASE64: return "EBASE64";
	case AUTH_ETOOLONG: return "ETOOLONG";
	case AUTH_EMALFORMED: return "EMALFORMED";
	case AUTH_ECHANNEL: return "ECHANNEL";
	case AUTH_ENOMECH: return "ENOMECH";
	case AUTH_EPRIVACY: return "EPRIVACY";
	case AUTH_ETEMP: return "ETEMP";
	}
	return "EUNKNOWN";
}

void auth_settings_default(struct auth_settings *s)
{
	*s = (struct auth_settings){
		.login_state_flush_ms = 60 * 1000,
		.local_domains = "localhost",
		.hostname = "localhost",
		.plaintext = AUTH_PLAINTEXT_LOOPBACK,
		.mechanisms = (1u << AUTH_MECH_COUNT) - 1,
		.scram_iterations = PASSWORD_SCRAM_DEFAULT_ITERATIONS,
		.max_response = 16384,
	};
	password_params_default(&s->hash);
	throttle_settings_default(&s->throttle);
}

/* ---- the fake-salt secret ---- */

static void load_secret(struct auth *a)
{
	if (pw_random_bytes(a->secret, sizeof(a->secret)) < 0)
		log_warn("auth: no randomness for the SCRAM secret");
	if (a->secret_file == NULL)
		return;
	int fd = open(a->secret_file, O_RDONLY | O_CLOEXEC);
	unsigned char buf[AUTH_SECRET_LEN];
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n == (ssize_t)sizeof(buf)) {
			memcpy(a->secret, buf, sizeof(buf));
			x_wipe(buf, sizeof(buf));
			return;
		}
		log_warn("auth: %s is not %d bytes; making a new one", a->secret_file,
			 AUTH_SECRET_LEN);
	}
	char *err = NULL;
	if (afile_write(a->secret_file, (const char *)a->secret, sizeof(a->secret), 0600,
			&err) < 0) {
		log_warn("auth: cannot save the SCRAM secret (fake salts of unknown users "
			 "change at each start): %s", err);
		free(err);
	}
}

void auth_secret_mac(const struct auth *a, const char *label, const char *what,
		     unsigned char out[32])
{
	unsigned int len = 0;
	char *msg = xasprintf("%s\n%s", label, what);
	HMAC(EVP_sha256(), a->secret, sizeof(a->secret), (const unsigned char *)msg,
	     strlen(msg), out, &len);
	free(msg);
}

/* ---- life cycle ---- */

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static struct auth_policy *policy_new(const struct auth_settings *settings)
{
	struct auth_policy *p = xcalloc(1, sizeof(*p));
	p->plaintext = settings->plaintext;
	p->local_domains = xstrdup(settings->local_domains != NULL ? settings->local_domains : "");
	p->hostname = xstrdup(settings->hostname != NULL ? settings->hostname : "localhost");
	return p;
}

const struct auth_policy *auth_policy_get(const struct auth *a)
{
	return atomic_load_explicit(&((struct auth *)a)->policy, memory_order_acquire);
}

void auth_reconfigure(struct auth *a, const struct auth_settings *settings)
{
	struct auth_policy *p = policy_new(settings);
	/* Only the server's main thread reconfigures: no two writers. */
	p->older = atomic_load_explicit(&a->policy, memory_order_relaxed);
	atomic_store_explicit(&a->policy, p, memory_order_release);
}

int auth_create(const struct auth_settings *settings, struct auth **auth_r, char **err_r)
{
	*auth_r = NULL;
	struct auth *a = xcalloc(1, sizeof(*a));
	a->s = *settings;
	a->users_file = dup_or_null(settings->users_file);
	a->app_passwords_file = dup_or_null(settings->app_passwords_file);
	a->login_state_file = dup_or_null(settings->login_state_file);
	a->secret_file = dup_or_null(settings->secret_file);
	atomic_init(&a->policy, policy_new(settings));
	a->s.users_file = a->users_file;
	a->s.app_passwords_file = a->app_passwords_file;
	a->s.login_state_file = a->login_state_file;
	a->s.secret_file = a->secret_file;
	a->s.local_domains = NULL;
	a->s.hostname = NULL;
	if (a->users_file == NULL) {
		*err_r = xstrdup("auth: no users file");
		auth_free(&a);
		return AUTH_ETEMP;
	}
	if (userdb_load(a->users_file, &a->db, err_r) < 0 ||
	    (a->app_passwords_file != NULL && apppass_load(a->app_passwords_file, &a->ap, err_r) < 0) ||
	    logins_open(a->login_state_file, &a->logins, err_r) < 0) {
		auth_free(&a);
		return AUTH_ETEMP;
	}
	userdb_set_hash_params(a->db, &a->s.hash);
	logins_start_flusher(a->logins, a->s.login_state_flush_ms);
	a->throttle = throttle_create(&a->s.throttle);
	load_secret(a);
	*auth_r = a;
	return AUTH_OK;
}

void auth_free(struct auth **ap)
{
	struct auth *a = *ap;
	if (a == NULL)
		return;
	logins_close(&a->logins);
	throttle_free(&a->throttle);
	apppass_free(&a->ap);
	userdb_free(&a->db);
	x_wipe(a->secret, sizeof(a->secret));
	free(a->users_file);
	free(a->app_passwords_file);
	free(a->login_state_file);
	free(a->secret_file);
	for (struct auth_policy *p = atomic_load(&a->policy), *older; p != NULL; p = older) {
		older = p->older;
		free(p->local_domains);
		free(p->hostname);
		free(p);
	}
	free(a);
	*ap = NULL;
}

struct userdb *auth_userdb(struct auth *a)
{
	return a->db;
}

struct apppass *auth_apppass(struct auth *a)
{
	return a->ap;
}

struct logins *auth_logins(struct auth *a)
{
	return a->logins;
}

/* ---- new passwords ---- */

static void free_secret_const(const char **p)
{
	if (*p != NULL) {
		x_wipe((char *)*p, strlen(*p));
		free((char *)*p);
		*p = NULL;
	}
}

void auth_credentials_free(struct userdb_credentials *c)
{
	free_secret_const(&c->password);
	free_secret_const(&c->scram_sha256);
	free_secret_const(&c->scram_sha1);
	free_secret_const(&c->cram_md5);
}

int auth_hash_password(const struct auth_settings *s, const char *password,
		       struct userdb_credentials *c)
{
	*c = (struct userdb_credentials){ 0 };
	char *out = NULL;
	bool ok = password_hash_params(password, &s->hash, &out) == PASSWORD_OK;
	c->password = out;
	if (ok && s->store_scram_sha256) {
		ok = password_scram_make(password, PASSWORD_SCRAM_SHA256, s->scram_iterations,
					 &out) == PASSWORD_OK;
		c->scram_sha256 = out;
	}
	if (ok && s->store_scram_sha1) {
		ok = password_scram_make(password, PASSWORD_SCRAM_SHA1, s->scram_iterations,
					 &out) == PASSWORD_OK;
		c->scram_sha1 = out;
	}
	if (ok && s->store_cram_md5) {
		ok = password_cram_md5_make(password, &out) == PASSWORD_OK;
		c->cram_md5 = out;
	}
	if (!ok) {
		auth_credentials_free(c);
		return AUTH_ETEMP;
	}
	return AUTH_OK;
}

/* ---- policy ---- */

bool auth_addr_is_loopback(const char *addr)
{
	unsigned char b[16];
	if (addr == NULL)
		return false;
	if (inet_pton(AF_INET, addr, b) == 1)
		return b[0] == 127;
	if (inet_pton(AF_INET6, addr, b) != 1)
		return false;
	static const unsigned char one[16] = { [15] = 1 };
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	return memcmp(b, one, 16) == 0 || (memcmp(b, mapped, 12) == 0 && b[12] == 127);
}

bool auth_conn_has_cb(const struct auth_conn *c)
{
	for (size_t i = 0; i < AUTH_CB_MAX; i++)
		if (c->cb[i].type != NULL && c->cb[i].data != NULL)
			return true;
	return false;
}

bool auth_plaintext_allowed(const struct auth *a, const struct auth_conn *c)
{
	if (c->tls)
		return true;
	switch (auth_policy_get(a)->plaintext) {
	case AUTH_PLAINTEXT_ALWAYS: return true;
	case AUTH_PLAINTEXT_LOOPBACK: return auth_addr_is_loopback(c->remote_addr);
	case AUTH_PLAINTEXT_NEVER: return false;
	}
	return false;
}

size_t auth_mechanisms(const struct auth *a, const struct auth_conn *c,
		       const char **names_r, size_t max)
{
	size_t n = 0;
	bool plain_ok = auth_plaintext_allowed(a, c);
	bool cb = auth_conn_has_cb(c);
	for (int m = 0; m < AUTH_MECH_COUNT && n < max; m++) {
		if (!(a->s.mechanisms & (1u << m)))
			continue;
		if (auth_mech_is_plaintext((enum auth_mech)m) && !plain_ok)
			continue;
		if ((m == AUTH_MECH_SCRAM_SHA_256_PLUS || m == AUTH_MECH_SCRAM_SHA_1_PLUS) && !cb)
			continue;
		names_r[n++] = mech_names[m];
	}
	return n;
}

/* ---- the shared login steps ---- */

void auth_refresh(struct auth *a)
{
	char *err = NULL;
	if (userdb_refresh(a->db, &err) < 0) {
		log_warn("auth: users file reload failed, using the loaded users: %s", err);
		x_free(&err);
	}
	if (a->ap != NULL && apppass_reload(a->ap, &err) < 0) {
		log_warn("auth: app-password reload failed, using the loaded ones: %s", err);
		x_free(&err);
	}
}

const struct userdb_user *auth_resolve(struct auth *a, const char *name,
				       char canon_r[USERDB_NAME_MAX + 1])
{
	if (!userdb_name_normalize(name, canon_r))
		return NULL;
	const struct userdb_user *u = userdb_lookup(a->db, canon_r);
	char local[USERDB_NAME_MAX + 1];
	if (u == NULL &&
	    userdb_name_strip_domain(canon_r, auth_policy_get(a)->local_domains, local)) {
		u = userdb_lookup(a->db, local);
		if (u != NULL)
			memcpy(canon_r, local, sizeof(local));
	}
	return u;
}

static const char *addr_or_dash(const struct auth_conn *c)
{
	return c->remote_addr != NULL ? c->remote_addr : "-";
}

int auth_throttle_check(struct auth *a, const struct auth_conn *c, struct auth_login *l,
			const char *mech)
{
	unsigned retry = 0;
	if (throttle_check(a->throttle, c->remote_addr, l->user[0] != '\0' ? l->user : NULL,
			   throttle_now_ms(), &retry) == 0)
		return 0;
	l->result = AUTH_ETHROTTLED;
	l->retry_ms = retry;
	log_info("auth: login refused service=%s mech=%s user=%s addr=%s reason=throttled "
		 "retry_ms=%u", userdb_service_name(c->service), mech,
		 l->user[0] != '\0' ? l->user : "-", addr_or_dash(c), retry);
	return AUTH_ETHROTTLED;
}

void auth_conclude(struct auth *a, const struct auth_conn *c, const char *mech,
		   const struct userdb_user *u, int result, struct auth_login *l)
{
	const char *svc = userdb_service_name(c->service);
	const char *who = l->user[0] != '\0' ? l->user : "-";
	if (result == AUTH_OK && u == NULL)
		result = AUTH_EFAIL;
	if (result == AUTH_OK && u->fields.disabled) {
		result = AUTH_EDISABLED;
	} else if (result == AUTH_OK && !(u->fields.services & (1u << c->service))) {
		result = AUTH_EDISABLED;
	}
	l->result = result;
	if (result == AUTH_OK || result == AUTH_EDISABLED) {
		l->fields = u->fields;
		l->fields.scram_sha256 = l->fields.scram_sha1 = l->fields.cram_md5 = NULL;
	}
	if (result == AUTH_OK) {
		throttle_success(a->throttle, c->remote_addr, l->user);
		int64_t now = (int64_t)time(NULL);
		logins_record(a->logins, l->user, svc, c->remote_addr, now);
		if (l->device[0] != '\0') {
			char kind[LOGINS_KIND_MAX];
			snprintf(kind, sizeof(kind), "app:%s", l->device);
			logins_record(a->logins, l->user, kind, c->remote_addr, now);
		}
		log_info("auth: login service=%s mech=%s user=%s addr=%s%s%s", svc, mech, who,
			 addr_or_dash(c), l->device[0] != '\0' ? " device=" : "", l->device);
		return;
	}
	l->device[0] = '\0';
	if (result == AUTH_EFAIL || result == AUTH_EMALFORMED || result == AUTH_ECHANNEL)
		l->delay_ms = throttle_failure(a->throttle, c->remote_addr,
					       l->user[0] != '\0' ? l->user : NULL,
					       throttle_now_ms());
	log_info("auth: login failed service=%s mech=%s user=%s addr=%s result=%s delay_ms=%u",
		 svc, mech, who, addr_or_dash(c), auth_strerror(result), l->delay_ms);
}

const struct userdb_user *auth_check_password(struct auth *a, const struct auth_conn *c,
					      const char *mech, const char *user,
					      const char *password, struct auth_login *l,
					      int *result_r)
{
	auth_refresh(a);
	const struct userdb_user *u = auth_resolve(a, user != NULL ? user : "", l->user);
	if (auth_throttle_check(a, c, l, mech) < 0) {
		*result_r = AUTH_ETHROTTLED;
		return NULL;
	}
	int result = AUTH_EFAIL;
	if (password == NULL) {
		userdb_verify_dummy(a->db, "");
	} else if (u == NULL) {
		userdb_verify_dummy(a->db, password);
	} else if (a->ap != NULL && apppass_verify(a->ap, u->name, password, l->device)) {
		result = AUTH_OK;
	} else {
		int r = password_verify(password, u->password);
		if (r == PASSWORD_OK) {
			result = AUTH_OK;
		} else if (r != PASSWORD_MISMATCH) {
			log_warn("auth: user=%s stored password unusable: %s", u->name,
				 password_result_name(r));
		}
	}
	*result_r = result;
	return u;
}

void auth_login_init(struct auth_login *l)
{
	*l = (struct auth_login){ .result = AUTH_EFAIL };
	userdb_fields_parse(NULL, &l->fields, NULL);
}

void auth_password_login(struct auth *a, const struct auth_conn *c, const char *user,
			 const char *password, struct auth_login *l)
{
	auth_login_init(l);
	if (!auth_plaintext_allowed(a, c)) {
		l->result = AUTH_EPRIVACY;
		return;
	}
	int result;
	const struct userdb_user *u = auth_check_password(a, c, "password", user, password, l,
							  &result);
	if (result != AUTH_ETHROTTLED)
		auth_conclude(a, c, "password", u, result, l);
}
