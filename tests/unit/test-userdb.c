/* Unit tests for auth/userdb.c: passwd-file parsing (comments, malformed and
 * duplicate lines, extra fields), lookups, verification, change-driven
 * reload, the atomic locked edits behind `loft user`, and name validation. */
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
	assert_null(userdb_lookup(db, "Alice")); /* names are case-sensitive */
	assert_null(userdb_lookup(db, NULL));
	userdb_free(&db);
	assert_null(db);
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
