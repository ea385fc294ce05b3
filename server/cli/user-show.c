/* `loft user show NAME` (the user's fields, stored forms, app passwords and
 * last logins; never a hash) and `loft user app-password add|list|revoke`.
 * Last logins come from the login state file, which the running server
 * writes every [auth] login_state_flush. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/apppass.h"
#include "auth/logins.h"
#include "auth/userdb.h"
#include "lib/xmem.h"
#include "server/cli/user.h"

static void fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One line per app password of user: "<device><sep>created <t><sep>last
 * used <t|never>[<sep>from <addr>]", joining the app-password file with the
 * login state. */
static void print_apps(struct apppass *ap, struct logins *lg, const char *user,
		       const char *indent, const char *sep)
{
	struct apppass_info *apps;
	size_t n_apps, n_logins;
	struct logins_entry *logins;
	apppass_list(ap, user, &apps, &n_apps);
	logins_get(lg, user, &logins, &n_logins);
	for (size_t i = 0; i < n_apps; i++) {
		char created[32], used[32] = "never";
		const char *addr = NULL;
		fmt_time(apps[i].created, created, sizeof(created));
		for (size_t k = 0; k < n_logins; k++) {
			if (strncmp(logins[k].kind, "app:", 4) == 0 &&
			    strcmp(logins[k].kind + 4, apps[i].device) == 0) {
				fmt_time(logins[k].time, used, sizeof(used));
				addr = logins[k].addr;
			}
		}
		printf("%s%s%screated %s%slast used %s", indent, apps[i].device, sep, created,
		       sep, used);
		if (addr != NULL)
			printf("%sfrom %s", sep, addr);
		printf("\n");
	}
	free(apps);
	free(logins);
}

/* The user's record by name or name@local-domain; NULL after a message. */
static const struct userdb_user *find_user(const struct user_cmd *c, struct userdb *db)
{
	const struct userdb_user *u = userdb_lookup(db, c->name);
	char canon[USERDB_NAME_MAX + 1], local[USERDB_NAME_MAX + 1];
	if (u == NULL && userdb_name_normalize(c->name, canon) &&
	    userdb_name_strip_domain(canon, c->cfg->local_domains, local))
		u = userdb_lookup(db, local);
	if (u == NULL)
		fprintf(stderr, "loft: no user %s in %s\n", c->name, c->cfg->users_file);
	return u;
}

static int open_all(const struct user_cmd *c, struct userdb **db, struct apppass **ap,
		    struct logins **lg)
{
	char *err = NULL;
	*db = NULL;
	*ap = NULL;
	if (lg != NULL)
		*lg = NULL;
	if (userdb_load(c->cfg->users_file, db, &err) < 0 ||
	    apppass_load(c->cfg->app_passwords_file, ap, &err) < 0 ||
	    (lg != NULL && logins_open(c->cfg->login_state_file, lg, &err) < 0)) {
		fprintf(stderr, "loft: %s\n", err);
		free(err);
		userdb_free(db);
		apppass_free(ap);
		return -1;
	}
	return 0;
}

static void close_all(struct userdb **db, struct apppass **ap, struct logins **lg)
{
	userdb_free(db);
	apppass_free(ap);
	if (lg != NULL)
		logins_close(lg);   /* nothing changed: nothing is written */
}

struct unknown_list {
	char text[512];
};

static void on_unknown(void *ctx, const char *key, size_t len)
{
	struct unknown_list *l = ctx;
	size_t used = strlen(l->text);
	snprintf(l->text + used, sizeof(l->text) - used, "%s%.*s", used > 0 ? " " : "",
		 (int)(len > 40 ? 40 : len), key);
}

static void print_fields(const struct userdb_user *u)
{
	const struct userdb_fields *f = &u->fields;
	if (f->has_quota_bytes)
		printf("quota_bytes: %" PRIu64 "\n", f->quota_bytes);
	else
		printf("quota_bytes: server default\n");
	if (f->has_quota_messages)
		printf("quota_messages: %" PRIu64 "\n", f->quota_messages);
	else
		printf("quota_messages: server default\n");
	printf("pop3_delete: %s\n", f->pop3_delete == USERDB_POP3_DELETE_EXPUNGE ? "expunge"
	       : f->pop3_delete == USERDB_POP3_DELETE_HIDE ? "hide" : "server default");
	printf("pop3_seen: %s\n", f->pop3_seen == USERDB_FLAG_YES ? "yes"
	       : f->pop3_seen == USERDB_FLAG_NO ? "no" : "server default");
	printf("protocols:");
	if (f->services == 0)
		printf(" none");
	for (int s = 0; s < USERDB_SERVICE_COUNT; s++)
		if (f->services & (1u << s))
			printf(" %s", userdb_service_name((enum userdb_service)s));
	printf("\ndisabled: %s\n", f->disabled ? "yes" : "no");
	printf("imap_caps_off: %s\n", f->imap_caps_off[0] != '\0' ? f->imap_caps_off : "none");
	struct unknown_list unknown = { "" };
	struct userdb_fields parsed;
	struct userdb_fields_report rep = { .unknown = on_unknown, .ctx = &unknown };
	userdb_fields_parse(u->extra, &parsed, &rep);
	userdb_fields_clear(&parsed);
	if (unknown.text[0] != '\0')
		printf("other fields (not used by Loft): %s\n", unknown.text);
}

int cli_user_show(const struct user_cmd *c)
{
	struct userdb *db;
	struct apppass *ap;
	struct logins *lg;
	if (open_all(c, &db, &ap, &lg) < 0)
		return 1;
	const struct userdb_user *u = find_user(c, db);
	if (u == NULL) {
		close_all(&db, &ap, &lg);
		return 1;
	}
	char cls[64] = "unusable";
	(void)password_cost_class(u->password, cls, sizeof(cls));
	printf("user: %s\n", u->name);
	printf("password: %s\n", cls);
	printf("stored forms:");
	char scheme[40];
	if (password_scheme_name(u->password, scheme, sizeof(scheme)))
		printf(" %s", scheme);
	if (u->fields.scram_sha256 != NULL)
		printf(" SCRAM-SHA-256");
	if (u->fields.scram_sha1 != NULL)
		printf(" SCRAM-SHA-1");
	if (u->fields.cram_md5 != NULL)
		printf(" CRAM-MD5");
	printf("\n");
	if (u->uid[0] != '\0' || u->gid[0] != '\0')
		printf("uid: %s\ngid: %s\n", u->uid, u->gid);
	if (u->home[0] != '\0')
		printf("home: %s\n", u->home);
	print_fields(u);

	struct apppass_info *apps;
	size_t n_apps;
	apppass_list(ap, u->name, &apps, &n_apps);
	free(apps);
	printf("app passwords: %zu\n", n_apps);
	print_apps(ap, lg, u->name, "  ", " ");
	struct logins_entry *logins;
	size_t n_logins;
	logins_get(lg, u->name, &logins, &n_logins);
	size_t n_services = 0;
	for (size_t k = 0; k < n_logins; k++)
		n_services += strncmp(logins[k].kind, "app:", 4) != 0;
	printf("last logins: %zu\n", n_services);
	for (size_t k = 0; k < n_logins; k++) {
		if (strncmp(logins[k].kind, "app:", 4) == 0)
			continue;
		char when[32];
		fmt_time(logins[k].time, when, sizeof(when));
		printf("  %s %s from %s\n", logins[k].kind, when, logins[k].addr);
	}
	free(logins);
	close_all(&db, &ap, &lg);
	return 0;
}

static int app_add(const struct user_cmd *c, const struct userdb_user *u)
{
	char *pw = NULL, *err = NULL;
	int ret = apppass_file_add(c->cfg->app_passwords_file, u->name, c->device,
				   (int64_t)time(NULL), &pw, &err);
	if (ret < 0) {
		fprintf(stderr, "loft: %s\n", err != NULL ? err : userdb_strerror(ret));
		free(err);
		return 1;
	}
	printf("app password for %s on %s: %s\n", u->name, c->device, pw);
	printf("It is shown only now. Enter it in the device's mail settings instead of "
	       "the account password;\nrevoke it with `loft user app-password revoke %s %s`.\n",
	       u->name, c->device);
	cli_free_secret(&pw);
	return 0;
}

int cli_user_app_password(const struct user_cmd *c)
{
	const char *sub = c->sub;
	bool add = sub != NULL && strcmp(sub, "add") == 0;
	bool list = sub != NULL && strcmp(sub, "list") == 0;
	bool revoke = sub != NULL && strcmp(sub, "revoke") == 0;
	if (!(add || list || revoke) || c->name == NULL || (list != (c->device == NULL))) {
		cli_user_usage(stderr);
		return 2;
	}
	struct userdb *db;
	struct apppass *ap;
	struct logins *lg = NULL;
	if (open_all(c, &db, &ap, list ? &lg : NULL) < 0)
		return 1;
	const struct userdb_user *u = find_user(c, db);
	int ret = 1;
	if (u != NULL && add) {
		ret = app_add(c, u);
	} else if (u != NULL && revoke) {
		char *err = NULL;
		if (apppass_file_revoke(c->cfg->app_passwords_file, u->name, c->device, &err) < 0) {
			fprintf(stderr, "loft: %s\n", err);
			free(err);
		} else {
			printf("revoked the app password of %s on %s\n", u->name, c->device);
			ret = 0;
		}
	} else if (u != NULL) {
		print_apps(ap, lg, u->name, "", "\t");
		ret = 0;
	}
	close_all(&db, &ap, lg != NULL ? &lg : NULL);
	return ret;
}
