/* Unit tests for auth/userdb*.c and auth/username.c: passwd-file parsing
 * (comments, malformed and duplicate lines), the extra fields Loft reads and
 * the log lines about the others, name normalisation (case, local domains),
 * lookups, verification and the unknown-user dummy, change-driven reload,
 * and the atomic locked edits behind `loft user` (credentials included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/password.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "lib/xmem.h"

/* doveadm pw -s SHA512-CRYPT -p secret */
#define HASH_SECRET "{SHA512-CRYPT}$6$K1iQv/7QFl/Cjiz3$6SAjCGv7mgcmFiQKMa3UmyHFvqzLPteIgK1UnapH." \
	"ZP/kTe/eAtiiVzmp7AVBJlnAjIHZsJCVXPoI/fFHmV2I1"

struct fixture {
	char dir[64];
	char *path;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/loft-test-userdb-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->path = xasprintf("%s/users", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", f->dir, de->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static char *read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *buf = xcalloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static size_t count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_name_valid(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a", "alice", "Alice.Smith", "bob@example.com", "x+tag", "a-b_c", "0", "a.",
		"1234567890123456789012345678901234567890123456789012345678901234",
	};
	static const char *const bad[] = {
		"", ".alice", "-alice", "a/b", "..", ".", "a b", "a:b", "a\nb", "ä", "a\\b",
		"a*", "a%", "12345678901234567890123456789012345678901234567890123456789012345",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!userdb_name_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (userdb_name_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
	assert_false(userdb_name_valid(NULL));
}

static void test_parse(void **state)
{
	struct fixture *f = *state;
	write_text(f->path,
		   "# Dovecot passwd-file\n"
		   "\n"
		   "alice:" HASH_SECRET ":1000:1000:Alice A:/home/alice:/bin/sh:"
		   "userdb_quota_rule=*:storage=1G mail=maildir:~/Mail\n"
		   "bob:{PLAIN}bobpw\r\n"
		   "no-colon-line\n"
		   "../evil:{PLAIN}x::::::\n"
		   ".hidden:{PLAIN}x\n"
		   ":{PLAIN}nameless\n"
		   "   # not a comment: leading blanks make an invalid name\n"
		   "alice:{PLAIN}second-entry-ignored\n"
		   "carol:{PLAIN}c:1:2\n"
		   "dave:\n"
		   "erin:{PLAIN}no-newline-at-end");
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_null(err);
	assert_int_equal(userdb_count(db), 5);

	const struct userdb_user *a = userdb_lookup(db, "alice");
	assert_non_null(a);
	assert_string_equal(a->name, "alice");
	assert_string_equal(a->password, HASH_SECRET);
	assert_string_equal(a->uid, "1000");
	assert_string_equal(a->gid, "1000");
	assert_string_equal(a->gecos, "Alice A");
	assert_string_equal(a->home, "/home/alice");
	assert_string_equal(a->shell, "/bin/sh");
	assert_string_equal(a->extra, "userdb_quota_rule=*:storage=1G mail=maildir:~/Mail");

	const struct userdb_user *b = userdb_lookup(db, "bob");
	assert_non_null(b);
	assert_string_equal(b->password, "{PLAIN}bobpw"); /* CR stripped */
	assert_string_equal(b->uid, "");
	assert_string_equal(b->extra, "");

	const struct userdb_user *c = userdb_lookup(db, "carol");
	assert_non_null(c);
	assert_string_equal(c->uid, "1");
	assert_string_equal(c->gid, "2");
	assert_string_equal(c->home, "");

	const struct userdb_user *d = userdb_lookup(db, "dave");
	assert_non_null(d);
	assert_string_equal(d->password, "");
	assert_non_null(userdb_lookup(db, "erin"));

	assert_null(userdb_lookup(db, "no-colon-line"));
	assert_null(userdb_lookup(db, "../evil"));
	assert_null(userdb_lookup(db, ".hidden"));
	assert_null(userdb_lookup(db, ""));
	assert_non_null(userdb_lookup(db, "Alice")); /* names are case-insensitive */
	assert_null(userdb_lookup(db, NULL));
	userdb_free(&db);
	assert_null(db);
}

/* Names are case-insensitive: the file's spelling and the login's are both
 * normalised to lower case, in one place (auth/username.c). */
static void test_name_case_and_domain(void **state)
{
	struct fixture *f = *state;
	char out[USERDB_NAME_MAX + 1];
	assert_true(userdb_name_normalize("Jo.Doe+Tag@Example.ORG", out));
	assert_string_equal(out, "jo.doe+tag@example.org");
	assert_false(userdb_name_normalize("../x", out));
	assert_string_equal(out, "");
	assert_true(userdb_name_strip_domain("bob@example.org", "example.net example.org", out));
	assert_string_equal(out, "bob");
	assert_true(userdb_name_strip_domain("bob@EXAMPLE.net", "example.net", out));
	assert_false(userdb_name_strip_domain("bob@example.com", "example.net example.org", out));
	assert_false(userdb_name_strip_domain("bob", "example.org", out));
	assert_false(userdb_name_strip_domain("@example.org", "example.org", out));
	assert_false(userdb_name_strip_domain("bob@", "example.org", out));
	assert_false(userdb_name_strip_domain("bob@example.org", NULL, out));
	assert_false(userdb_name_strip_domain("bob@example.org", "", out));
	assert_false(userdb_name_strip_domain("bob@ample.org", "example.org", out));
	/* the last '@' separates the domain */
	assert_true(userdb_name_strip_domain("a@b@example.org", "example.org", out));
	assert_string_equal(out, "a@b");

	write_text(f->path, "Bob:{PLAIN}one\nBOB:{PLAIN}two\nCarol@Example.org:{PLAIN}c\n");
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_int_equal(userdb_count(db), 2);   /* BOB is bob again: skipped */
	const struct userdb_user *u = userdb_lookup(db, "bOb");
	assert_non_null(u);
	assert_string_equal(u->name, "bob");
	assert_string_equal(u->password, "{PLAIN}one");
	assert_non_null(userdb_lookup(db, "carol@example.org"));
	assert_string_equal(userdb_user_at(db, 1)->name, "carol@example.org");
	assert_null(userdb_user_at(db, 2));
	userdb_free(&db);

	/* edits match case-insensitively and write lower case */
	assert_int_equal(userdb_file_add(f->path, "bob", "{PLAIN}x", &err), USERDB_EEXIST);
	x_free(&err);
	assert_int_equal(userdb_file_set_password(f->path, "BOB", "{PLAIN}three", &err), USERDB_OK);
	assert_int_equal(userdb_file_add(f->path, "Dave", "{PLAIN}d", &err), USERDB_OK);
	char *text = read_text(f->path);
	assert_string_equal(text, "Bob:{PLAIN}three\nBOB:{PLAIN}two\nCarol@Example.org:{PLAIN}c\n"
				  "dave:{PLAIN}d::::::\n");
	free(text);
}

/* Log lines written while fn runs (the log sink pointed at a temp file). */
static char *capture_log_load(const char *path, struct userdb **db)
{
	char tmpl[] = "/tmp/loft-test-log-XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	log_set_fd(fd);
	char *err = NULL;
	assert_int_equal(userdb_load(path, db, &err), USERDB_OK);
	log_set_fd(2);
	char *text = xcalloc(1, 65536);
	assert_true(pread(fd, text, 65535, 0) >= 0);
	close(fd);
	unlink(tmpl);
	return text;
}

static size_t count_lines(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void test_extra_fields(void **state)
{
	struct fixture *f = *state;
	write_text(f->path,
		"a:{PLAIN}a::::::userdb_quota_rule=*:storage=1G userdb_quota_rule2=*:messages=500 "
			"pop3_delete=hide pop3_seen=no protocols=imap,POP3 mail=maildir:~/M "
			"userdb_imap_caps_off=CONDSTORE,SORT\n"
		"b:{PLAIN}b::::::quota_bytes=2M quota_messages=10 pop3_delete=expunge pop3_seen=yes "
			"protocols=none allow_nets=10.0.0.0/8\n"
		"c:{PLAIN}c::::::quota_rule=*:storage=100 quota_rule=Trash:storage=+10M "
			"disabled=no mail=x\n"
		"d:{PLAIN}d::::::nologin reason=moved\n"
		"e:{PLAIN}e::::::disabled=perhaps protocols=imap,gopher quota_bytes=lots "
			"pop3_delete=keep pop3_seen=2 quota_rule=*:storage=-5%\n"
		"f:{PLAIN}f::::::userdb_quota_rule=*:bytes=1024:messages=7 disabled\n"
		"g:{PLAIN}g\n");
	struct userdb *db = NULL;
	char *log = capture_log_load(f->path, &db);
	const struct userdb_fields *a = &userdb_lookup(db, "a")->fields;
	assert_true(a->has_quota_bytes);
	assert_int_equal(a->quota_bytes, 1ull << 30);
	assert_true(a->has_quota_messages);
	assert_int_equal(a->quota_messages, 500);
	assert_int_equal(a->pop3_delete, USERDB_POP3_DELETE_HIDE);
	assert_int_equal(a->pop3_seen, USERDB_FLAG_NO);
	assert_int_equal(a->services, (1u << USERDB_SERVICE_IMAP) | (1u << USERDB_SERVICE_POP3));
	assert_false(a->disabled);
	assert_string_equal(a->imap_caps_off, "CONDSTORE,SORT");   /* as written */
	const struct userdb_fields *b = &userdb_lookup(db, "b")->fields;
	assert_int_equal(b->quota_bytes, 2ull << 20);
	assert_int_equal(b->quota_messages, 10);
	assert_int_equal(b->pop3_delete, USERDB_POP3_DELETE_EXPUNGE);
	assert_int_equal(b->pop3_seen, USERDB_FLAG_YES);
	assert_int_equal(b->services, 0);
	const struct userdb_fields *c = &userdb_lookup(db, "c")->fields;
	assert_int_equal(c->quota_bytes, 100 * 1024);   /* Dovecot: storage is in KiB */
	assert_false(c->has_quota_messages);
	assert_false(c->disabled);
	assert_int_equal(c->services, USERDB_SERVICES_ALL);
	assert_true(userdb_lookup(db, "d")->fields.disabled);
	/* bad values fail closed */
	const struct userdb_fields *e = &userdb_lookup(db, "e")->fields;
	assert_true(e->disabled);
	assert_int_equal(e->services, 1u << USERDB_SERVICE_IMAP);
	assert_false(e->has_quota_bytes);
	assert_int_equal(e->pop3_delete, USERDB_POP3_DELETE_DEFAULT);
	assert_int_equal(e->pop3_seen, USERDB_FLAG_DEFAULT);
	const struct userdb_fields *ff = &userdb_lookup(db, "f")->fields;
	assert_int_equal(ff->quota_bytes, 1024);
	assert_int_equal(ff->quota_messages, 7);
	assert_true(ff->disabled);
	const struct userdb_fields *g = &userdb_lookup(db, "g")->fields;
	assert_false(g->has_quota_bytes);
	assert_int_equal(g->services, USERDB_SERVICES_ALL);
	assert_false(g->disabled);
	assert_null(g->scram_sha256);
	assert_string_equal(g->imap_caps_off, "");
	/* one line per bad field (file:line, key, never the value) */
	assert_int_equal(count_lines(log, "/users:5: user e: extra field"), 6);
	assert_null(strstr(log, "perhaps"));
	assert_null(strstr(log, "gopher"));
	/* unknown fields: one line for the whole load, names only */
	assert_int_equal(count_lines(log, "Loft does not use"), 1);
	assert_non_null(strstr(log, "3 extra field(s) Loft does not use, ignored: mail(2) "
				    "allow_nets(1)"));
	assert_null(strstr(log, "maildir"));
	assert_null(strstr(log, "10.0.0.0"));
	free(log);

	/* a reload logs the unknown fields once more, and only once */
	int fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(write(fd, "h:{PLAIN}h::::::color=blue\n", 27) == 27);
	close(fd);
	char tmpl[] = "/tmp/loft-test-log-XXXXXX";
	int lfd = mkstemp(tmpl);
	log_set_fd(lfd);
	bool changed = false;
	char *err = NULL;
	assert_int_equal(userdb_reload(db, &changed, &err), USERDB_OK);
	assert_true(changed);
	assert_int_equal(userdb_reload(db, &changed, &err), USERDB_OK);
	assert_false(changed);
	log_set_fd(2);
	char buf[8192] = "";
	assert_true(pread(lfd, buf, sizeof(buf) - 1, 0) >= 0);
	close(lfd);
	unlink(tmpl);
	assert_int_equal(count_lines(buf, "Loft does not use"), 1);
	assert_non_null(strstr(buf, "color(1)"));
	userdb_free(&db);

	/* userdb_fields_set keeps the other fields in order */
	char *x = userdb_fields_set("a=1 userdb_scram_sha1={X}y  b=2", "scram_sha1", "{N}z");
	assert_string_equal(x, "a=1 b=2 scram_sha1={N}z");
	free(x);
	x = userdb_fields_set("a=1 scram_sha1={X}y", "SCRAM_SHA1", NULL);
	assert_string_equal(x, "a=1");
	free(x);
	x = userdb_fields_set(NULL, "k", "v");
	assert_string_equal(x, "k=v");
	free(x);
	assert_int_equal(userdb_service_parse("Submission", 10), USERDB_SERVICE_SMTP);
	assert_int_equal(userdb_service_parse("imaps", 5), -1);
	assert_string_equal(userdb_service_name(USERDB_SERVICE_POP3), "pop3");
}

/* All stored forms of a password are written together, and replacing the
 * password removes forms that were not given again. */
static void test_credentials(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	struct userdb_credentials full = {
		.password = "{PLAIN}one",
		.scram_sha256 = "{SCRAM-SHA-256}4096,c2FsdA==,AAAA,BBBB",
		.scram_sha1 = "{SCRAM-SHA-1}4096,c2FsdA==,CCCC,DDDD",
		.cram_md5 = "{CRAM-MD5}00",
	};
	assert_int_equal(userdb_file_add_credentials(f->path, "alice", &full, &err), USERDB_OK);
	char *text = read_text(f->path);
	assert_string_equal(text, "alice:{PLAIN}one::::::scram_sha256={SCRAM-SHA-256}4096,c2FsdA==,"
				  "AAAA,BBBB scram_sha1={SCRAM-SHA-1}4096,c2FsdA==,CCCC,DDDD "
				  "cram_md5={CRAM-MD5}00\n");
	free(text);
	/* other fields stay; stale credentials go */
	write_text(f->path, "# c\nalice:{PLAIN}one:1:2:A:/h:/s:quota_bytes=1G "
		   "scram_sha256={SCRAM-SHA-256}old cram_md5={CRAM-MD5}old pop3_seen=no\n");
	struct userdb_credentials only256 = {
		.password = "{PLAIN}two", .scram_sha256 = "{SCRAM-SHA-256}new",
	};
	assert_int_equal(userdb_file_set_credentials(f->path, "alice", &only256, &err), USERDB_OK);
	text = read_text(f->path);
	assert_string_equal(text, "# c\nalice:{PLAIN}two:1:2:A:/h:/s:quota_bytes=1G pop3_seen=no "
				  "scram_sha256={SCRAM-SHA-256}new\n");
	free(text);
	assert_int_equal(userdb_file_set_password(f->path, "alice", "{PLAIN}three", &err),
			 USERDB_OK);
	text = read_text(f->path);
	assert_string_equal(text, "# c\nalice:{PLAIN}three:1:2:A:/h:/s:quota_bytes=1G "
				  "pop3_seen=no\n");
	free(text);
	/* a short line grows the columns it needs */
	write_text(f->path, "bob:{PLAIN}b\r\n");
	assert_int_equal(userdb_file_set_credentials(f->path, "bob", &only256, &err), USERDB_OK);
	text = read_text(f->path);
	assert_string_equal(text, "bob:{PLAIN}two::::::scram_sha256={SCRAM-SHA-256}new\r\n");
	free(text);
	struct userdb *db = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_string_equal(userdb_lookup(db, "bob")->fields.scram_sha256, "{SCRAM-SHA-256}new");
	userdb_free(&db);
	/* values that would break the line are refused */
	struct userdb_credentials bad = { .password = "{PLAIN}x", .cram_md5 = "{CRAM-MD5}a b" };
	assert_int_equal(userdb_file_set_credentials(f->path, "bob", &bad, &err), USERDB_EINVAL);
	x_free(&err);
	bad.cram_md5 = "{CRAM-MD5}a\nmallory:{PLAIN}x";
	assert_int_equal(userdb_file_add_credentials(f->path, "eve", &bad, &err), USERDB_EINVAL);
	x_free(&err);
	/* a credential field with another scheme is reported and ignored */
	write_text(f->path, "carol:{PLAIN}c::::::scram_sha256={PLAIN}c\n");
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_null(userdb_lookup(db, "carol")->fields.scram_sha256);
	userdb_free(&db);
}

/* The unknown-user dummy takes the scheme and cost most users have. */
static void test_dummy_class(void **state)
{
	struct fixture *f = *state;
	write_text(f->path,
		/* doveadm pw -s SHA512-CRYPT (5000 rounds) x3, SSHA x1, PBKDF2 x1 */
		"a:{SHA512-CRYPT}$6$biNuHXJep/G.Wapj$O.ZLEqhveJSGJ7NprMrj5vxvGuYmfO3qLzlx5r113ZlV4wi."
		"b0N7hPd6vPWdxO7OR/Tp4EhL18JiJgkuC3gBX1\n"
		"b:{SHA512-CRYPT}$6$pd1djPofTXBWo2zb$.k9PLzz0JwrLVg91j.GmOn8Ykcb6kYFddM738unR4JIn3NU2"
		"undPRsoVDkKVPlLhSyZmoF2G9q2K0pOLmWnoz/\n"
		"c:$6$biNuHXJep/G.Wapj$O.ZLEqhveJSGJ7NprMrj5vxvGuYmfO3qLzlx5r113ZlV4wi."
		"b0N7hPd6vPWdxO7OR/Tp4EhL18JiJgkuC3gBX1\n"
		"d:{SSHA}KOKVhYxuRFknkNwtxI8caObG8Ka2fdu2\n"
		"e:{PBKDF2}$1$X0zoziVgrYYpGSU/$1000$c6265393065aef1842da2f08694092b98d937524\n"
		"f:{NOSUCH}x\n");
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	char cls[64];
	userdb_dummy_class(db, cls, sizeof(cls));
	assert_string_equal(cls, "SHA512-CRYPT rounds=5000");
	userdb_verify_dummy(db, "secret");   /* the dummy never matches anyone */
	assert_int_equal(userdb_verify(db, "nobody", "secret"), USERDB_ENOTFOUND);
	userdb_free(&db);
	/* mostly fast hashes: the dummy is fast too */
	write_text(f->path, "d:{SSHA}KOKVhYxuRFknkNwtxI8caObG8Ka2fdu2\n"
			    "e:{SSHA}7hykCalW/muHQEan/qOe8MhNznq76Ixc\n"
			    "a:{SHA512-CRYPT}$6$biNuHXJep/G.Wapj$O.ZLEqhveJSGJ7NprMrj5vxvGuYmfO3qLz"
			    "lx5r113ZlV4wi.b0N7hPd6vPWdxO7OR/Tp4EhL18JiJgkuC3gBX1\n");
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	userdb_dummy_class(db, cls, sizeof(cls));
	assert_string_equal(cls, "SSHA");
	userdb_free(&db);
	/* no usable hash: the configured scheme for new passwords */
	write_text(f->path, "f:{NOSUCH}x\n");
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	struct password_params p;
	password_params_default(&p);
	p.scheme = PASSWORD_SCHEME_SHA512_CRYPT;
	p.crypt_rounds = 7000;
	userdb_set_hash_params(db, &p);
	userdb_dummy_class(db, cls, sizeof(cls));
	assert_string_equal(cls, "SHA512-CRYPT rounds=7000");
	userdb_free(&db);
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_int_equal(userdb_count(db), 0);
	assert_null(userdb_lookup(db, "alice"));
	bool changed = true;
	assert_int_equal(userdb_reload(db, &changed, &err), USERDB_OK);
	assert_false(changed);
	userdb_free(&db);

	/* A directory in its place is an error, not an empty database. */
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_EIO);
	assert_null(db);
	assert_non_null(err);
	free(err);
	rmdir(f->path);
}

static void test_many_users(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->path, "w");
	for (int i = 0; i < 5000; i++)
		fprintf(fp, "user%d:{PLAIN}pw%d::::::\n", i, i);
	fclose(fp);
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_int_equal(userdb_count(db), 5000);
	for (int i = 0; i < 5000; i += 37) {
		char name[32], pw[32];
		snprintf(name, sizeof(name), "user%d", i);
		snprintf(pw, sizeof(pw), "{PLAIN}pw%d", i);
		const struct userdb_user *u = userdb_lookup(db, name);
		assert_non_null(u);
		assert_string_equal(u->password, pw);
	}
	assert_null(userdb_lookup(db, "user5000"));
	userdb_free(&db);
}

static void test_verify(void **state)
{
	struct fixture *f = *state;
	write_text(f->path,
		   "alice:" HASH_SECRET "::::::\n"
		   "bob:{PLAIN}bobpw\n"
		   "carol:{NOSUCH}abc\n"
		   "dave:\n");
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_int_equal(userdb_verify(db, "alice", "secret"), USERDB_OK);
	assert_int_equal(userdb_verify(db, "alice", "Secret"), USERDB_EMISMATCH);
	assert_int_equal(userdb_verify(db, "bob", "bobpw"), USERDB_OK);
	assert_int_equal(userdb_verify(db, "bob", "secret"), USERDB_EMISMATCH);
	assert_int_equal(userdb_verify(db, "carol", "abc"), USERDB_EPASSWORD);
	assert_int_equal(userdb_verify(db, "dave", ""), USERDB_EPASSWORD);
	assert_int_equal(userdb_verify(db, "nobody", "secret"), USERDB_ENOTFOUND);
	userdb_free(&db);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* An unknown user costs a full default-rounds hash, like a real user with a
 * freshly generated hash: timing must not tell names apart. */
static void test_verify_unknown_user_timing(void **state)
{
	struct fixture *f = *state;
	char *hash = NULL;
	assert_int_equal(password_hash("pw", &hash), PASSWORD_OK);
	char *err = NULL;
	assert_int_equal(userdb_file_add(f->path, "alice", hash, &err), USERDB_OK);
	free(hash);
	struct userdb *db = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	double known = 1e9, unknown = 1e9;
	/* Best of 5 each, with wide bounds: the machine may be busy. */
	for (int i = 0; i < 5; i++) {
		double t0 = now_ms();
		assert_int_equal(userdb_verify(db, "alice", "wrong"), USERDB_EMISMATCH);
		double t1 = now_ms();
		assert_int_equal(userdb_verify(db, "nobody", "wrong"), USERDB_ENOTFOUND);
		double t2 = now_ms();
		if (t1 - t0 < known)
			known = t1 - t0;
		if (t2 - t1 < unknown)
			unknown = t2 - t1;
	}
	if (unknown < known * 0.4 || unknown > known * 2.5)
		fail_msg("unknown user %.2f ms vs known user %.2f ms", unknown, known);
	userdb_free(&db);
}

static void test_reload(void **state)
{
	struct fixture *f = *state;
	write_text(f->path, "alice:{PLAIN}one\n");
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	const struct userdb_user *old = userdb_lookup(db, "alice");
	assert_non_null(old);

	bool changed = true;
	assert_int_equal(userdb_reload(db, &changed, &err), USERDB_OK);
	assert_false(changed);

	assert_int_equal(userdb_file_set_password(f->path, "alice", "{PLAIN}two", &err), USERDB_OK);
	assert_int_equal(userdb_file_add(f->path, "bob", "{PLAIN}bob", &err), USERDB_OK);
	assert_int_equal(userdb_reload(db, &changed, &err), USERDB_OK);
	assert_true(changed);
	assert_int_equal(userdb_count(db), 2);
	assert_string_equal(userdb_lookup(db, "alice")->password, "{PLAIN}two");
	assert_non_null(userdb_lookup(db, "bob"));
	/* The record borrowed before the reload is still readable. */
	assert_string_equal(old->password, "{PLAIN}one");

	/* verify picks up a change by itself. */
	assert_int_equal(userdb_file_add(f->path, "carol", "{PLAIN}c", &err), USERDB_OK);
	assert_int_equal(userdb_verify(db, "carol", "c"), USERDB_OK);

	/* Deleting the file empties the database. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(userdb_reload(db, &changed, &err), USERDB_OK);
	assert_true(changed);
	assert_int_equal(userdb_count(db), 0);
	assert_string_equal(old->name, "alice");
	userdb_free(&db);
}

static void test_add(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	assert_int_equal(userdb_file_add(f->path, "alice", HASH_SECRET, &err), USERDB_OK);
	assert_null(err);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *text = read_text(f->path);
	assert_string_equal(text, "alice:" HASH_SECRET "::::::\n");
	free(text);

	assert_int_equal(userdb_file_add(f->path, "alice", "{PLAIN}x", &err), USERDB_EEXIST);
	assert_non_null(err);
	x_free(&err);
	assert_int_equal(userdb_file_add(f->path, "../x", "{PLAIN}x", &err), USERDB_EINVAL);
	x_free(&err);
	assert_int_equal(userdb_file_add(f->path, "bob", "{PLAIN}a:b", &err), USERDB_EINVAL);
	x_free(&err);
	assert_int_equal(userdb_file_add(f->path, "bob", "{PLAIN}a\nmallory:{PLAIN}x", &err),
			 USERDB_EINVAL);
	x_free(&err);
	assert_int_equal(userdb_file_add(f->path, "bob", "", NULL), USERDB_EINVAL);

	/* The users file plus its lock file; no temporary file left behind. */
	assert_int_equal(count_dir_entries(f->dir), 2);

	/* Appending to a file that lacks a final newline. */
	write_text(f->path, "# comment\nalice:{PLAIN}a");
	assert_int_equal(userdb_file_add(f->path, "bob", "{PLAIN}b", &err), USERDB_OK);
	text = read_text(f->path);
	assert_string_equal(text, "# comment\nalice:{PLAIN}a\nbob:{PLAIN}b::::::\n");
	free(text);
	/* A commented-out user does not count as existing. */
	write_text(f->path, "#carol:{PLAIN}c\n");
	assert_int_equal(userdb_file_add(f->path, "carol", "{PLAIN}c", &err), USERDB_OK);
}

static void test_set_password(void **state)
{
	struct fixture *f = *state;
	const char *before =
		"# header comment\n"
		"alice:{PLAIN}old:1000:1000:Alice:/home/alice:/bin/sh:userdb_quota_rule=*:storage=1G\n"
		"\n"
		"bob:{PLAIN}bob\n"
		"carol\n"
		"alice:{PLAIN}duplicate\n";
	write_text(f->path, before);
	char *err = NULL;
	assert_int_equal(userdb_file_set_password(f->path, "alice", "{PLAIN}new", &err), USERDB_OK);
	char *text = read_text(f->path);
	assert_string_equal(text,
		"# header comment\n"
		"alice:{PLAIN}new:1000:1000:Alice:/home/alice:/bin/sh:userdb_quota_rule=*:storage=1G\n"
		"\n"
		"bob:{PLAIN}bob\n"
		"carol\n"
		"alice:{PLAIN}duplicate\n");
	free(text);
	/* Only the password field of a two-field line. */
	assert_int_equal(userdb_file_set_password(f->path, "bob", HASH_SECRET, &err), USERDB_OK);
	struct userdb *db = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_int_equal(userdb_verify(db, "bob", "secret"), USERDB_OK);
	assert_int_equal(userdb_verify(db, "alice", "new"), USERDB_OK);
	userdb_free(&db);

	assert_int_equal(userdb_file_set_password(f->path, "nobody", "{PLAIN}x", &err),
			 USERDB_ENOTFOUND);
	assert_non_null(err);
	x_free(&err);
	assert_int_equal(userdb_file_set_password(f->path, "alice", "{PLAIN}x:y", &err),
			 USERDB_EINVAL);
	x_free(&err);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_delete_and_list(void **state)
{
	struct fixture *f = *state;
	write_text(f->path,
		   "# users\n"
		   "alice:{PLAIN}a\n"
		   "bob:{PLAIN}b\n"
		   "bad name:{PLAIN}x\n"
		   "alice:{PLAIN}dup\n"
		   "carol:{PLAIN}c\n");
	char **names = NULL;
	size_t n = 0;
	char *err = NULL;
	assert_int_equal(userdb_file_list(f->path, &names, &n, &err), USERDB_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "alice");
	assert_string_equal(names[1], "bob");
	assert_string_equal(names[2], "carol");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	/* Every line of the user goes, so no duplicate takes over. */
	assert_int_equal(userdb_file_delete(f->path, "alice", &err), USERDB_OK);
	char *text = read_text(f->path);
	assert_string_equal(text, "# users\nbob:{PLAIN}b\nbad name:{PLAIN}x\ncarol:{PLAIN}c\n");
	free(text);
	assert_int_equal(userdb_file_delete(f->path, "alice", &err), USERDB_ENOTFOUND);
	x_free(&err);
	assert_int_equal(userdb_file_delete(f->path, "bad name", &err), USERDB_EINVAL);
	x_free(&err);

	assert_int_equal(userdb_file_list(f->path, &names, &n, &err), USERDB_OK);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	/* Listing a missing file: no users. */
	unlink(f->path);
	assert_int_equal(userdb_file_list(f->path, &names, &n, &err), USERDB_OK);
	assert_int_equal(n, 0);
	free(names);
	assert_int_equal(userdb_file_delete(f->path, "bob", NULL), USERDB_ENOTFOUND);
}

struct adder {
	const char *path;
	int first;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;
	for (int i = a->first; i < a->first + 25; i++) {
		char name[32];
		snprintf(name, sizeof(name), "u%d", i);
		if (userdb_file_add(a->path, name, "{PLAIN}x", NULL) != USERDB_OK)
			return (void *)1;
	}
	return NULL;
}

/* Concurrent editors serialise on the lock file: no addition is lost. */
static void test_concurrent_add(void **state)
{
	struct fixture *f = *state;
	pthread_t t[4];
	struct adder a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct adder){ f->path, i * 100 };
		assert_int_equal(pthread_create(&t[i], NULL, add_many, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		assert_null(ret);
	}
	struct userdb *db = NULL;
	char *err = NULL;
	assert_int_equal(userdb_load(f->path, &db, &err), USERDB_OK);
	assert_int_equal(userdb_count(db), 100);
	userdb_free(&db);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(userdb_strerror(USERDB_EEXIST), "EEXIST");
	assert_string_equal(userdb_strerror(USERDB_ENOTFOUND), "ENOTFOUND");
	assert_string_equal(userdb_strerror(42), "EUNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_case_and_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dummy_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_unknown_user_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_add, setup, teardown),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name("userdb", tests, NULL, NULL);
}
