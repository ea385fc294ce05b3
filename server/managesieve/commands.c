/* The ManageSieve dispatch table and the commands of the authenticated
 * state: HAVESPACE, PUTSCRIPT, LISTSCRIPTS, SETACTIVE, GETSCRIPT,
 * DELETESCRIPT, RENAMESCRIPT, CHECKSCRIPT (RFC 5804 2.5-2.12), plus
 * CAPABILITY, NOOP and LOGOUT. Script files are read and written on the
 * storage pool (one job type, one op per command); scripts are compiled
 * there too, with the limits of [sieve]. */
#include "server/managesieve/commands.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/xmem.h"
#include "server/services.h"
#include "server/sieve/sieve.h"
#include "storage/store.h"

#define NONAUTH MS_STATE_BIT(MS_STATE_NONAUTH)
#define AUTH MS_STATE_BIT(MS_STATE_AUTH)

static const struct ms_command_def commands[] = {
	{ "CAPABILITY", ms_cmd_capability, NONAUTH | AUTH, "RFC 5804 2.4" },
	{ "NOOP", ms_cmd_noop, NONAUTH | AUTH, "RFC 5804 2.13" },
	{ "LOGOUT", ms_cmd_logout, NONAUTH | AUTH, "RFC 5804 2.3" },
	{ "STARTTLS", ms_cmd_starttls, NONAUTH, "RFC 5804 2.2" },
	{ "AUTHENTICATE", ms_cmd_authenticate, NONAUTH, "RFC 5804 2.1" },
	{ "UNAUTHENTICATE", ms_cmd_unauthenticate, AUTH, "RFC 5804 2.14" },
	{ "HAVESPACE", ms_cmd_havespace, AUTH, "RFC 5804 2.5" },
	{ "PUTSCRIPT", ms_cmd_putscript, AUTH, "RFC 5804 2.6" },
	{ "LISTSCRIPTS", ms_cmd_listscripts, AUTH, "RFC 5804 2.7" },
	{ "SETACTIVE", ms_cmd_setactive, AUTH, "RFC 5804 2.8" },
	{ "GETSCRIPT", ms_cmd_getscript, AUTH, "RFC 5804 2.9" },
	{ "DELETESCRIPT", ms_cmd_deletescript, AUTH, "RFC 5804 2.10" },
	{ "RENAMESCRIPT", ms_cmd_renamescript, AUTH, "RFC 5804 2.11.1" },
	{ "CHECKSCRIPT", ms_cmd_checkscript, AUTH, "RFC 5804 2.12" },
};

const struct ms_command_def *ms_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* The arguments after the command name must be of these types ('s' string,
 * 'n' number); answers NO otherwise. */
static bool want(struct ms_session *s, const struct ms_args *args, const char *types)
{
	size_t n = strlen(types);
	bool ok = args->n == n + 1;
	for (size_t i = 0; ok && i < n; i++) {
		enum ms_arg_type t = args->v[i + 1].type;
		ok = types[i] == 's' ? t == MS_ARG_STRING : t == MS_ARG_NUMBER;
	}
	if (!ok) {
		char text[96];
		snprintf(text, sizeof(text), "%s takes %s.", args->v[0].data,
			 n == 0 ? "no arguments" : strcmp(types, "s") == 0 ? "one string"
			 : strcmp(types, "ss") == 0 ? "two strings" : "a string and a number");
		ms_no(s, NULL, text);
	}
	return ok;
}

static bool name_ok(struct ms_session *s, const struct ms_arg *a)
{
	if (strlen(a->data) == a->len && store_script_name_valid(a->data))
		return true;
	ms_no(s, NULL, "Invalid script name.");
	return false;
}

/* ---- any state ---- */

void ms_cmd_capability(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, ""))
		return;
	ms_capability(s);
	ms_ok(s, NULL, "Capability completed.");
}

void ms_cmd_noop(struct ms_session *s, struct ms_args *args)
{
	if (args->n == 2 && args->v[1].type == MS_ARG_STRING) {
		struct msg_buf code = { 0 };
		msg_buf_puts(&code, "TAG ");
		ms_put_string(&code, args->v[1].data, args->v[1].len);
		msg_buf_putc(&code, '\0');
		ms_ok(s, code.data, "Done");
		msg_buf_free(&code);
		return;
	}
	if (want(s, args, ""))
		ms_ok(s, NULL, "Done");
}

void ms_cmd_logout(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, ""))
		return;
	ms_ok(s, NULL, "Logout completed.");
	ms_enter_state(s, MS_STATE_LOGOUT);
	conn_close(s->conn, "logout");
}

/* ---- script jobs ---- */

enum ms_op { OP_HAVESPACE, OP_PUT, OP_LIST, OP_SETACTIVE, OP_GET, OP_DELETE, OP_RENAME,
	     OP_CHECK };

struct ms_job {
	struct sess_job job;            /* first */
	struct ms_session *s;
	enum ms_op op;
	char *a, *b;                    /* names */
	char *data;                     /* script text */
	size_t len;
	uint64_t size;                  /* HAVESPACE */
	int err;                        /* store error */
	int compile;                    /* sieve error */
	char *errors;                   /* compile errors */
	bool too_big, too_many;
	struct store_script_info *list;
	size_t n_list;
};

static void job_free(struct ms_job *j)
{
	free(j->a);
	free(j->b);
	free(j->data);
	free(j->errors);
	store_script_list_free(j->list, j->n_list);
	free(j);
}

/* Whether one more script named name fits max_scripts. */
static int count_check(struct ms_job *j, struct store_user *su, const char *name, unsigned max)
{
	struct store_script_info *list;
	size_t n;
	int r = store_script_list(su, &list, &n);
	if (r != STORE_OK)
		return r;
	bool exists = false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			exists = true;
	if (!exists && n >= max)
		j->too_many = true;
	store_script_list_free(list, n);
	return STORE_OK;
}

static void script_work(struct sess_job *job)
{
	struct ms_job *j = (struct ms_job *)job;
	const struct loft_services *svc = job->core->svc;
	struct store_user *su = j->s->store_user;
	const struct sieve_limits *lim = sieve_env_limits(svc->sieve);
	switch (j->op) {
	case OP_HAVESPACE:
		if (j->size > lim->max_script_size)
			j->too_big = true;
		else
			j->err = count_check(j, su, j->a, lim->max_scripts);
		break;
	case OP_PUT:
		if (j->len > lim->max_script_size) {
			j->too_big = true;
			break;
		}
		j->compile = sieve_check(svc->sieve, j->data, j->len, &j->errors);
		if (j->compile != 0)
			break;
		j->err = count_check(j, su, j->a, lim->max_scripts);
		if (j->err == STORE_OK && !j->too_many)
			j->err = store_script_write(su, j->a, j->data, j->len);
		break;
	case OP_CHECK:
		j->compile = sieve_check(svc->sieve, j->data, j->len, &j->errors);
		break;
	case OP_LIST:
		j->err = store_script_list(su, &j->list, &j->n_list);
		break;
	case OP_SETACTIVE:
		if (j->a[0] == '\0') {
			j->err = store_script_activate(su, NULL);
			break;
		}
		j->err = store_script_read(su, j->a, lim->max_script_size, &j->data, &j->len, NULL);
		if (j->err == STORE_OK)
			j->compile = sieve_check(svc->sieve, j->data, j->len, &j->errors);
		if (j->err == STORE_OK && j->compile == 0)
			j->err = store_script_activate(su, j->a);
		break;
	case OP_GET:
		j->err = store_script_read(su, j->a, SIZE_MAX, &j->data, &j->len, NULL);
		break;
	case OP_DELETE:
		j->err = store_script_delete(su, j->a);
		break;
	case OP_RENAME:
		j->err = store_script_rename(su, j->a, j->b);
		break;
	}
}

static void compile_failed(struct ms_session *s, struct ms_job *j)
{
	if (j->compile == SIEVE_ELIMIT && j->errors == NULL)
		ms_no(s, "QUOTA/MAXSIZE", "The script is larger than max_script_size.");
	else
		ms_no(s, NULL, j->errors != NULL ? j->errors : "The script does not compile.");
}

static void script_done(struct sess_job *job)
{
	struct ms_job *j = (struct ms_job *)job;
	struct ms_session *s = j->s;
	if (!sess_alive(&s->core)) {
		job_free(j);
		ms_cmd_finish(s);
		return;
	}
	char what[256];
	snprintf(what, sizeof(what), "user=%s script operation", s->user ? s->user : "?");
	if (j->too_big) {
		ms_no(s, "QUOTA/MAXSIZE", "The script is larger than max_script_size.");
	} else if (j->compile != 0) {
		compile_failed(s, j);
	} else if (j->err != STORE_OK) {
		ms_no_store(s, j->err, what);
	} else if (j->too_many) {
		ms_no(s, "QUOTA/MAXSCRIPTS", "No more scripts may be stored (max_scripts).");
	} else {
		struct msg_buf b = { 0 };
		switch (j->op) {
		case OP_LIST:
			for (size_t i = 0; i < j->n_list; i++) {
				ms_put_string(&b, j->list[i].name, strlen(j->list[i].name));
				msg_buf_puts(&b, j->list[i].active ? " ACTIVE\r\n" : "\r\n");
			}
			break;
		case OP_GET:
			msg_buf_printf(&b, "{%zu}\r\n", j->len);
			msg_buf_append(&b, j->data, j->len);
			msg_buf_puts(&b, "\r\n");
			break;
		default:
			break;
		}
		if (b.len > 0)
			conn_write(s->conn, b.data, b.len);
		msg_buf_free(&b);
		if (j->op == OP_PUT)
			conn_info(s->conn, "putscript user=%s name=%s size=%zu", s->user, j->a, j->len);
		else if (j->op == OP_SETACTIVE)
			conn_info(s->conn, "setactive user=%s name=%s", s->user, j->a);
		ms_ok(s, NULL, j->op == OP_HAVESPACE ? "Putscript would succeed." : "Done.");
	}
	job_free(j);
	ms_cmd_finish(s);
}

static void submit(struct ms_session *s, struct ms_job *j)
{
	j->s = s;
	j->job.work = script_work;
	j->job.done = script_done;
	ms_cmd_hold(s);
	sess_submit(&s->core, s->core.svc->storage_pool, &j->job);
}

static struct ms_job *job_new(enum ms_op op)
{
	struct ms_job *j = xcalloc(1, sizeof(*j));
	j->op = op;
	return j;
}

/* Take the string of argument i (the job owns it then). */
static char *take(struct ms_args *args, unsigned i, size_t *len_r)
{
	char *d = args->v[i].data;
	if (len_r != NULL)
		*len_r = args->v[i].len;
	args->v[i].data = NULL;
	return d;
}

void ms_cmd_havespace(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, "sn") || !name_ok(s, &args->v[1]))
		return;
	struct ms_job *j = job_new(OP_HAVESPACE);
	j->a = take(args, 1, NULL);
	j->size = args->v[2].num;
	submit(s, j);
}

void ms_cmd_putscript(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, "ss") || !name_ok(s, &args->v[1]))
		return;
	struct ms_job *j = job_new(OP_PUT);
	j->a = take(args, 1, NULL);
	j->data = take(args, 2, &j->len);
	submit(s, j);
}

void ms_cmd_checkscript(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, "s"))
		return;
	struct ms_job *j = job_new(OP_CHECK);
	j->data = take(args, 1, &j->len);
	submit(s, j);
}

void ms_cmd_listscripts(struct ms_session *s, struct ms_args *args)
{
	if (want(s, args, ""))
		submit(s, job_new(OP_LIST));
}

void ms_cmd_setactive(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, "s") || (args->v[1].len > 0 && !name_ok(s, &args->v[1])))
		return;
	struct ms_job *j = job_new(OP_SETACTIVE);
	j->a = take(args, 1, NULL);
	submit(s, j);
}

void ms_cmd_getscript(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, "s") || !name_ok(s, &args->v[1]))
		return;
	struct ms_job *j = job_new(OP_GET);
	j->a = take(args, 1, NULL);
	submit(s, j);
}

void ms_cmd_deletescript(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, "s") || !name_ok(s, &args->v[1]))
		return;
	struct ms_job *j = job_new(OP_DELETE);
	j->a = take(args, 1, NULL);
	submit(s, j);
}

void ms_cmd_renamescript(struct ms_session *s, struct ms_args *args)
{
	if (!want(s, args, "ss") || !name_ok(s, &args->v[1]) || !name_ok(s, &args->v[2]))
		return;
	struct ms_job *j = job_new(OP_RENAME);
	j->a = take(args, 1, NULL);
	j->b = take(args, 2, NULL);
	submit(s, j);
}
