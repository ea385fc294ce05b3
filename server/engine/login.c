/* The login pipeline of login.h: the connection's facts copied for auth, the
 * hash-pool round trips of a password check or a SASL step, the failure
 * delay on a loop timer, and opening the user's store (with the quota of
 * the user's fields) on the storage pool. One struct sess_login per
 * attempt; its job is reused for each stage. */
#include "server/engine/login.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "lib/xmem.h"
#include "server/services.h"
#include "storage/store.h"

enum stage {
	ST_WAITING,    /* SASL: waiting for the client's response */
	ST_HASHING,    /* a check on the hash pool */
	ST_DELAY,      /* waiting out a failure's delay */
	ST_STORE,      /* opening the user's store */
};

struct sess_login {
	struct sess_job job;
	struct sess_core *core;
	const struct sess_login_ops *ops;
	void *ctx;
	enum stage stage;
	/* The connection as auth sees it; strings and bindings are ours. */
	struct auth_conn ac;
	char addr[64];
	struct conn_cb cb[CONN_CB_MAX];
	struct sasl *sasl;             /* NULL: a password login */
	char *user, *password;         /* password login; password wiped */
	struct auth_login login;       /* password login's outcome */
	int result;
	int store_err;
	struct store_user *su;
};

void sess_login_auth_conn(struct conn *c, enum userdb_service service,
			  struct conn_cb cb[CONN_CB_MAX], struct auth_conn *ac)
{
	*ac = (struct auth_conn){
		.service = service, .remote_addr = conn_remote_ip(c), .tls = conn_is_tls(c),
	};
	size_t n = conn_channel_bindings(c, cb);
	for (size_t i = 0; i < n && i < AUTH_CB_MAX; i++)
		ac->cb[i] = (struct auth_cb){ cb[i].type, cb[i].data, cb[i].len };
}

static struct sess_login *login_new(struct sess_core *core, enum userdb_service service,
				    const struct sess_login_ops *ops, void *ctx)
{
	struct sess_login *l = xcalloc(1, sizeof(*l));
	l->core = core;
	l->ops = ops;
	l->ctx = ctx;
	sess_login_auth_conn(core->conn, service, l->cb, &l->ac);
	snprintf(l->addr, sizeof(l->addr), "%s", conn_remote_ip(core->conn));
	l->ac.remote_addr = l->addr;
	return l;
}

static void wipe_free(char **p)
{
	if (*p != NULL) {
		x_wipe(*p, strlen(*p));
		x_free(p);
	}
}

static void login_destroy(struct sess_login *l)
{
	sasl_free(&l->sasl);
	free(l->user);
	wipe_free(&l->password);
	store_user_close(&l->su);
	x_wipe(l->cb, sizeof(l->cb));
	free(l);
}

void sess_login_free(struct sess_login **lp)
{
	struct sess_login *l = *lp;
	if (l == NULL)
		return;
	*lp = NULL;
	/* In flight, the engine owns it: ops->done comes and frees it. */
	assert(l->stage == ST_WAITING);
	login_destroy(l);
}

bool sess_login_waiting(const struct sess_login *l)
{
	return l->stage == ST_WAITING;
}

static const struct auth_login *outcome(const struct sess_login *l)
{
	return l->sasl != NULL ? sasl_login(l->sasl) : &l->login;
}

static const char *mech_of(const struct sess_login *l)
{
	return l->sasl != NULL ? sasl_mech(l->sasl) : "LOGIN";
}

/* The end: call ops->done, then free. */
static void finish(struct sess_login *l)
{
	struct sess_login_result r = {
		.result = l->result, .login = outcome(l), .mech = mech_of(l),
		.store_user = l->result == AUTH_OK ? l->su : NULL, .store_err = l->store_err,
	};
	if (r.store_user != NULL)
		l->su = NULL;
	l->ops->done(l->ctx, &r);
	store_user_close(&r.store_user);
	login_destroy(l);
}

static void delay_done(struct sess_job *job)
{
	finish((struct sess_login *)job);
}

/* A failure: answer after the throttle's delay (0: on the next loop
 * turn, so ops->done never runs inside a sess_login_* call). */
static void fail(struct sess_login *l, int result)
{
	l->result = result;
	l->stage = ST_DELAY;
	if (!sess_alive(l->core)) {
		finish(l);
		return;
	}
	l->job.work = NULL;
	l->job.done = delay_done;
	sess_delay(l->core, &l->job, outcome(l)->delay_ms);
}

/* ---- success: the user's store ---- */

/* The override the user's fields ask for (store_user_set_quota's terms):
 * absent = the server default (0); a field of 0 = unlimited. */
static uint64_t quota_override(bool has, uint64_t v)
{
	return !has ? 0 : v == 0 ? UINT64_MAX : v;
}

static void store_work(struct sess_job *job)
{
	struct sess_login *l = (struct sess_login *)job;
	const struct auth_login *o = outcome(l);
	struct store *store = job->core->svc->store;
	l->store_err = store_user_open(store, o->user, &l->su);
	if (l->store_err != STORE_OK)
		return;
	uint64_t want_b = quota_override(o->fields.has_quota_bytes, o->fields.quota_bytes);
	uint64_t want_m = quota_override(o->fields.has_quota_messages, o->fields.quota_messages);
	uint64_t have_b, have_m;
	int err = store_user_get_quota(l->su, &have_b, &have_m);
	if (err == STORE_OK && (have_b != want_b || have_m != want_m))
		err = store_user_set_quota(l->su, want_b, want_m);
	if (err != STORE_OK) {
		store_user_close(&l->su);
		l->store_err = err;
		return;
	}
	if (l->ops->after_open != NULL)
		l->ops->after_open(l->su, l->ctx);
}

static void store_done(struct sess_job *job)
{
	struct sess_login *l = (struct sess_login *)job;
	const struct auth_login *o = outcome(l);
	if (!sess_alive(l->core)) {
		finish(l);
		return;
	}
	if (l->store_err != STORE_OK) {
		conn_error(l->core->conn, "login user=%s: cannot open the mail store: %s", o->user,
			   store_strerror(l->store_err));
		l->result = AUTH_ETEMP;
		finish(l);
		return;
	}
	conn_info(l->core->conn, "login user=%s mech=%s%s%s", o->user, mech_of(l),
		  o->device[0] != '\0' ? " device=" : "", o->device);
	l->result = AUTH_OK;
	finish(l);
}

/* A verdict from auth: open the store, or fail after the delay. */
static void concluded(struct sess_login *l, int result)
{
	if (result != AUTH_OK) {
		fail(l, result);
		return;
	}
	if (!sess_alive(l->core)) {
		l->result = AUTH_ECANCEL;
		finish(l);
		return;
	}
	if (l->ops->skip_store) {
		/* Still from a later loop turn, like every ops->done. */
		l->store_err = STORE_OK;
		l->stage = ST_DELAY;
		l->job.work = NULL;
		l->job.done = store_done;
		sess_delay(l->core, &l->job, 0);
		return;
	}
	l->stage = ST_STORE;
	l->job.work = store_work;
	l->job.done = store_done;
	sess_submit(l->core, l->core->svc->storage_pool, &l->job);
}

/* ---- password logins ---- */

static void password_work(struct sess_job *job)
{
	struct sess_login *l = (struct sess_login *)job;
	auth_password_login(job->core->svc->auth, &l->ac, l->user, l->password, &l->login);
	wipe_free(&l->password);
}

static void password_done(struct sess_job *job)
{
	struct sess_login *l = (struct sess_login *)job;
	concluded(l, l->login.result);
}

void sess_login_password(struct sess_core *core, enum userdb_service service,
			 const char *user, const char *password,
			 const struct sess_login_ops *ops, void *ctx)
{
	struct sess_login *l = login_new(core, service, ops, ctx);
	l->user = xstrdup(user);
	l->password = xstrdup(password);
	l->stage = ST_HASHING;
	l->job.work = password_work;
	l->job.done = password_done;
	sess_submit(core, core->svc->hash_pool, &l->job);
}

/* ---- SASL ---- */

int sess_login_sasl_start(struct sess_core *core, enum userdb_service service,
			  const char *mech, const struct sess_login_ops *ops, void *ctx,
			  struct sess_login **l_r)
{
	*l_r = NULL;
	struct sess_login *l = login_new(core, service, ops, ctx);
	int r = sasl_start(core->svc->auth, &l->ac, mech, &l->sasl);
	if (r != 0) {
		sess_login_free(&l);
		return r;
	}
	l->stage = ST_WAITING;
	*l_r = l;
	return 0;
}

static void sasl_result(struct sess_login *l, int r, const char *challenge);

static void sasl_work_job(struct sess_job *job)
{
	sasl_work(((struct sess_login *)job)->sasl);
}

static void sasl_work_done(struct sess_job *job)
{
	struct sess_login *l = (struct sess_login *)job;
	const char *challenge = NULL;
	int r = sasl_resume(l->sasl, &challenge);
	if (!sess_alive(l->core) && r > 0)
		r = AUTH_ECANCEL;   /* nobody to answer: stop here */
	sasl_result(l, r, challenge);
}

static void sasl_result(struct sess_login *l, int r, const char *challenge)
{
	switch (r) {
	case SASL_CONTINUE:
		l->stage = ST_WAITING;
		l->ops->challenge(l->ctx, challenge);
		return;
	case SASL_NEED_WORK:
		l->stage = ST_HASHING;
		l->job.work = sasl_work_job;
		l->job.done = sasl_work_done;
		sess_submit(l->core, l->core->svc->hash_pool, &l->job);
		return;
	default:
		concluded(l, r);
		return;
	}
}

void sess_login_step(struct sess_login *l, const char *response, size_t len)
{
	assert(l->stage == ST_WAITING);
	const char *challenge = NULL;
	int r = sasl_step(l->sasl, response, len, &challenge);
	sasl_result(l, r, challenge);
}
