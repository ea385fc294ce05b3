/* Unit tests of the store API (storage/store.h): index check and rebuild,
 * and reconciling changes other programs make to the Maildir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "store-fixture.h"

/* ---- maintenance: check, rebuild, external changes ---- */

struct progress_rec { size_t calls, last_done, last_total; bool monotonic; };

static void progress_cb(size_t done, size_t total, void *ctx)
{
	struct progress_rec *p = ctx;
	if (p->calls > 0 && done < p->last_done)
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void test_check_rebuild(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(store_mailbox_create(fx->user, "Work/Sub", 0), STORE_OK);
	static const char *const kw[] = { "$Label2" };
	struct store_append_meta meta = { .flags = STORE_FLAG_ANSWERED, .keywords = kw,
					  .n_keywords = 1, .internal_date = 1234567890 };
	uint32_t uw = 0;
	char *t = make_msg(5, 5, "\n");
	assert_int_equal(try_append(fx->user, "Work/Sub", t, strlen(t), &meta, &uw, NULL),
			 STORE_OK);
	free(t);
	uint32_t u1 = add(fx->user, "INBOX", 1);
	uint32_t u2 = add(fx->user, "INBOX", 2);
	uint32_t u3 = add(fx->user, "INBOX", 3);
	struct store_mailbox *mbox = open_box(fx, "INBOX", false);
	assert_int_equal(store_expunge(mbox, &u2, 1, false, NULL), STORE_OK);
	set_flags(mbox, u3, STORE_FLAGS_ADD, STORE_FLAG_SEEN | STORE_FLAG_DELETED);
	store_mailbox_close(&mbox);
	struct store_status in_before = get_status(fx, "INBOX");
	struct store_status sub_before = get_status(fx, "Work/Sub");

	struct store_check_report rep = { 0 };
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_int_equal(rep.problems, 0);
	assert_int_equal(rep.mailboxes, 3);
	assert_int_equal(rep.messages, 3);
	store_check_report_free(&rep);
	assert_int_equal(store_index_check(fx->store, "nobody", &rep), STORE_ENOTFOUND);
	assert_int_equal(store_index_check(fx->store, "../x", &rep), STORE_EINVALID);

	/* A message file removed behind the index's back is reported. */
	char path[700], file[1024];
	snprintf(path, sizeof(path), "%s/cur", store_user_dir(fx->user));
	DIR *d = opendir(path);
	struct dirent *de;
	file[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		char want[32];
		snprintf(want, sizeof(want), ",U=%u,", u1);
		if (strstr(de->d_name, want) != NULL)
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
	}
	closedir(d);
	assert_true(file[0] != '\0');
	assert_int_equal(unlink(file), 0);
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_true(rep.problems > 0);
	assert_true(rep.n_lines > 0);
	store_check_report_free(&rep);

	fx_close(fx);
	assert_int_equal(store_create(&fx->set, &fx->store), STORE_OK);
	struct progress_rec p = { .monotonic = true };
	assert_int_equal(store_index_rebuild(fx->store, "alice", progress_cb, &p), STORE_OK);
	assert_true(p.calls > 0);
	assert_true(p.monotonic);
	assert_int_equal(p.last_done, p.last_total);
	assert_int_equal(store_index_rebuild(fx->store, "nobody", NULL, NULL), STORE_ENOTFOUND);
	assert_int_equal(store_index_check(fx->store, "alice", &rep), STORE_OK);
	assert_int_equal(rep.problems, 0);
	store_check_report_free(&rep);
	assert_int_equal(store_user_open(fx->store, "alice", &fx->user), STORE_OK);

	struct store_status in_after = get_status(fx, "INBOX");
	assert_int_equal(in_after.messages, 1);
	assert_int_equal(in_after.uidvalidity, in_before.uidvalidity);
	assert_true(in_after.uidnext >= in_before.uidnext);
	assert_int_equal(in_after.deleted, 1);
	assert_int_equal(in_after.unseen, 0);
	struct store_status sub_after = get_status(fx, "Work/Sub");
	assert_int_equal(sub_after.uidvalidity, sub_before.uidvalidity);
	assert_int_equal(sub_after.size, sub_before.size);
	mbox = open_box(fx, "Work/Sub", true);
	struct store_msg m = get_msg(mbox, uw);
	assert_int_equal(m.flags, STORE_FLAG_ANSWERED);
	assert_true(has_keyword(mbox, uw, "$Label2"));
	/* INTERNALDATE survives too (the file's mtime carries it). */
	assert_int_equal(m.internal_date, 1234567890);
	assert_int_equal(m.vsize, m.size + 11);
	store_mailbox_close(&mbox);
	assert_true(add(fx->user, "INBOX", 9) >= in_before.uidnext);
}

/* Files an external MDA drops into new/ are adopted with fresh UIDs the
 * next time the user is opened. */
static void test_reconcile_external(void **state)
{
	struct fx *fx = *state;
	uint32_t u1 = add(fx->user, "INBOX", 1);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s", store_user_dir(fx->user));
	fx_close(fx);

	char path[800];
	snprintf(path, sizeof(path), "%s/new/1700000000.M1P1.external", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: dropped in\n\nhello\n", f);
	fclose(f);

	fx_open(fx);
	struct store_status st = get_status(fx, "INBOX");
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.uidnext, u1 + 2);
	struct store_mailbox *mbox = open_box(fx, "INBOX", true);
	size_t len;
	char *text = read_msg(mbox, u1 + 1, &len);
	assert_string_equal(text, "Subject: dropped in\n\nhello\n");
	free(text);
	struct store_msg m = get_msg(mbox, u1 + 1);
	assert_int_equal(m.size, 27);
	assert_int_equal(m.vsize, 30);
	store_mailbox_close(&mbox);
	char newdir[700];
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	assert_int_equal(count_files(newdir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_external, setup, teardown),
	};
	return FX_RUN("store-maint", tests);
}
