/* Command-line access to the store API for the storage end-to-end tests:
 * create mailboxes, append, change flags, expunge, and dump a mailbox exactly
 * as the index reports it (so Python can compare before and after damage).
 *
 *   store-ctl -d MAIL_DIR -u USER create NAME
 *   store-ctl -d MAIL_DIR -u USER delete NAME
 *   store-ctl -d MAIL_DIR -u USER list
 *   store-ctl -d MAIL_DIR -u USER append NAME FLAGS KEYWORDS < message
 *   store-ctl -d MAIL_DIR -u USER flags NAME UID FLAGS KEYWORDS   (SET)
 *   store-ctl -d MAIL_DIR -u USER expunge NAME UID...
 *   store-ctl -d MAIL_DIR -u USER dump NAME
 *   store-ctl -d MAIL_DIR -u USER dump-all     (every mailbox, each preceded
 *                                               by a line "N name")
 *   store-ctl -d MAIL_DIR -u USER quota
 *   store-ctl -d MAIL_DIR -u USER cached NAME UID   ("parts N" when the
 *                                               parse cache holds the
 *                                               message's structure)
 * FLAGS are letters S F A D T (seen flagged answered draft deleted) or "-";
 * KEYWORDS are comma separated or "-". Output lines are tab separated:
 *   append: "uid"
 *   list:   "name"
 *   dump:   "M uid msgid sha256 flags keywords size vsize internal_date" per
 *           message, then "S uidvalidity uidnext messages unseen deleted size
 *           highestmodseq"
 *   quota:  "bytes_used bytes_limit messages_used messages_limit"
 * Exit 0 on success, 1 with "store-ctl: <op>: <store error>" on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/xmem.h"
#include "storage/store.h"

#define CTL_MAX_KW 64

struct ctl_kw {
	char *buf;
	const char *kw[CTL_MAX_KW];
	size_t n;
};

static uint32_t ctl_flags(const char *s)
{
	uint32_t f = 0;
	for (; *s != '\0' && strcmp(s, "-") != 0; s++) {
		switch (*s) {
		case 'S': f |= STORE_FLAG_SEEN; break;
		case 'F': f |= STORE_FLAG_FLAGGED; break;
		case 'A': f |= STORE_FLAG_ANSWERED; break;
		case 'D': f |= STORE_FLAG_DRAFT; break;
		case 'T': f |= STORE_FLAG_DELETED; break;
		default:
			fprintf(stderr, "store-ctl: unknown flag letter %c\n", *s);
			exit(2);
		}
	}
	return f;
}

static void ctl_letters(uint32_t flags, char out[8])
{
	size_t n = 0;
	if (flags & STORE_FLAG_SEEN)
		out[n++] = 'S';
	if (flags & STORE_FLAG_FLAGGED)
		out[n++] = 'F';
	if (flags & STORE_FLAG_ANSWERED)
		out[n++] = 'A';
	if (flags & STORE_FLAG_DRAFT)
		out[n++] = 'D';
	if (flags & STORE_FLAG_DELETED)
		out[n++] = 'T';
	out[n] = '\0';
}

static void ctl_keywords(const char *s, struct ctl_kw *k)
{
	k->n = 0;
	k->buf = xstrdup(s);
	if (strcmp(s, "-") == 0)
		return;
	char *save = NULL;
	for (char *t = strtok_r(k->buf, ",", &save); t != NULL && k->n < CTL_MAX_KW;
	     t = strtok_r(NULL, ",", &save))
		k->kw[k->n++] = t;
}

static int ctl_err(const char *op, int ret)
{
	if (ret == STORE_OK)
		return 0;
	fprintf(stderr, "store-ctl: %s: %s\n", op, store_strerror(ret));
	return 1;
}

struct dump_ctx { struct store_mailbox *mbox; int error; };

static int dump_cb(const struct store_msg *msg, void *ctx)
{
	struct dump_ctx *d = ctx;
	int fd = -1;
	uint64_t size = 0;
	int ret = store_msg_open(d->mbox, msg->uid, &fd, &size);
	if (ret != STORE_OK) {
		fprintf(stderr, "store-ctl: open uid %u: %s\n", msg->uid, store_strerror(ret));
		d->error = ret;
		return 0;
	}
	char *buf = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	unsigned char md[32];
	unsigned md_len = 0;
	char sha[65] = "short";
	if (got == size) {
		EVP_Digest(buf, got, md, &md_len, EVP_sha256(), NULL);
		for (unsigned i = 0; i < 32; i++)
			snprintf(sha + 2 * i, 3, "%02x", md[i]);
	}
	char msgid[200] = "-";
	const char *p = memmem(buf, got, "Message-ID: <", 13);
	if (p != NULL) {
		p += 13;
		const char *end = memchr(p, '>', got - (size_t)(p - buf));
		if (end != NULL && (size_t)(end - p) < sizeof(msgid))
			snprintf(msgid, sizeof(msgid), "%.*s", (int)(end - p), p);
	}
	char letters[8], kw[1024] = "";
	ctl_letters(msg->flags, letters);
	for (uint16_t i = 0; i < msg->n_keywords; i++) {
		if (i > 0)
			strncat(kw, ",", sizeof(kw) - strlen(kw) - 1);
		strncat(kw, msg->keywords[i], sizeof(kw) - strlen(kw) - 1);
	}
	printf("M\t%u\t%s\t%s\t%s\t%s\t%llu\t%llu\t%lld\n", msg->uid, msgid, sha,
	       letters[0] ? letters : "-", kw[0] ? kw : "-", (unsigned long long)msg->size,
	       (unsigned long long)msg->vsize, (long long)msg->internal_date);
	free(buf);
	return 0;
}

static int ctl_dump(struct store_user *user, const char *name)
{
	struct dump_ctx d = { 0 };
	int ret = store_mailbox_open(user, name, true, &d.mbox);
	if (ret != STORE_OK)
		return ctl_err("open", ret);
	ret = store_msg_scan(d.mbox, 1, UINT32_MAX, dump_cb, &d);
	struct store_status st;
	if (ret == STORE_OK)
		ret = store_mailbox_status(d.mbox, &st);
	store_mailbox_close(&d.mbox);
	if (ret == STORE_OK && d.error != 0)
		ret = d.error;
	if (ret != STORE_OK)
		return ctl_err("dump", ret);
	printf("S\t%u\t%u\t%u\t%u\t%u\t%llu\t%llu\n", st.uidvalidity, st.uidnext, st.messages,
	       st.unseen, st.deleted, (unsigned long long)st.size,
	       (unsigned long long)st.highestmodseq);
	return 0;
}

static int ctl_append(struct store_user *user, const char *name, const char *flags,
		      const char *keywords)
{
	struct store_append *app = NULL;
	int ret = store_append_begin(user, name, &app);
	if (ret != STORE_OK)
		return ctl_err("append", ret);
	char buf[65536];
	ssize_t n;
	while (ret == STORE_OK && (n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		ret = store_append_write(app, buf, (size_t)n);
	if (ret != STORE_OK) {
		store_append_abort(&app);
		return ctl_err("append", ret);
	}
	struct ctl_kw k;
	ctl_keywords(keywords, &k);
	struct store_append_meta meta = { .flags = ctl_flags(flags), .keywords = k.kw,
					  .n_keywords = k.n };
	uint32_t uid = 0;
	ret = store_append_commit(&app, &meta, &uid, NULL);
	free(k.buf);
	if (ret != STORE_OK)
		return ctl_err("append", ret);
	printf("%u\n", uid);
	return 0;
}

static int ctl_view_op(struct store_user *user, const char *op, int argc, char **argv)
{
	struct store_mailbox *mbox = NULL;
	int ret = store_mailbox_open(user, argv[0], false, &mbox);
	if (ret != STORE_OK)
		return ctl_err("open", ret);
	if (strcmp(op, "flags") == 0) {
		if (argc != 4) {
			store_mailbox_close(&mbox);
			return ctl_err("flags: NAME UID FLAGS KEYWORDS", STORE_EINVALID);
		}
		uint32_t uid = (uint32_t)strtoul(argv[1], NULL, 10);
		struct ctl_kw k;
		ctl_keywords(argv[3], &k);
		ret = store_flags_update(mbox, &uid, 1, STORE_FLAGS_SET, ctl_flags(argv[2]), k.kw,
					 k.n, 0, NULL);
		free(k.buf);
	} else {
		size_t n = (size_t)argc - 1;
		uint32_t *uids = xcalloc(n + 1, sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			uids[i] = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		ret = store_expunge(mbox, uids, n, false, NULL);
		free(uids);
	}
	store_mailbox_close(&mbox);
	return ctl_err(op, ret);
}

static void usage(void)
{
	fprintf(stderr, "usage: store-ctl -d MAIL_DIR -u USER "
			"create|list|append|flags|expunge|dump|dump-all|quota ARGS (see source)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mail_dir = NULL, *user_name = NULL;
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-d") == 0)
			mail_dir = argv[i + 1];
		else if (strcmp(argv[i], "-u") == 0)
			user_name = argv[i + 1];
		else
			usage();
	}
	if (mail_dir == NULL || user_name == NULL || i >= argc)
		usage();
	const char *op = argv[i++];
	int nargs = argc - i;
	char **args = argv + i;

	struct store_settings set = { .mail_dir = mail_dir };
	struct store *store = NULL;
	struct store_user *user = NULL;
	int ret = store_create(&set, &store);
	if (ret == STORE_OK)
		ret = store_user_open(store, user_name, &user);
	if (ret != STORE_OK) {
		if (store != NULL)
			store_destroy(&store);
		return ctl_err("open user", ret);
	}
	int code;
	if (strcmp(op, "delete") == 0 && nargs == 1) {
		code = ctl_err("delete", store_mailbox_delete(user, args[0]));
	} else if (strcmp(op, "create") == 0 && nargs == 1) {
		code = ctl_err("create", store_mailbox_create(user, args[0], 0));
	} else if (strcmp(op, "list") == 0 && nargs == 0) {
		struct store_mailbox_info *list = NULL;
		size_t n = 0;
		code = ctl_err("list", store_mailbox_list(user, &list, &n));
		for (size_t k = 0; code == 0 && k < n; k++)
			printf("%s\n", list[k].name);
		if (code == 0)
			store_mailbox_list_free(list, n);
	} else if (strcmp(op, "append") == 0 && nargs == 3) {
		code = ctl_append(user, args[0], args[1], args[2]);
	} else if ((strcmp(op, "flags") == 0 || strcmp(op, "expunge") == 0) && nargs >= 2) {
		code = ctl_view_op(user, op, nargs, args);
	} else if (strcmp(op, "quota") == 0 && nargs == 0) {
		struct store_quota q;
		code = ctl_err("quota", store_quota_get(user, &q));
		if (code == 0)
			printf("%llu\t%llu\t%llu\t%llu\n", (unsigned long long)q.bytes_used,
			       (unsigned long long)q.bytes_limit, (unsigned long long)q.messages_used,
			       (unsigned long long)q.messages_limit);
	} else if (strcmp(op, "cached") == 0 && nargs == 2) {
		struct store_mailbox *mbox = NULL;
		code = ctl_err("cached", store_mailbox_open(user, args[0], true, &mbox));
		void *blob = NULL;
		size_t len = 0;
		struct msg_info *info = NULL;
		if (code == 0)
			code = ctl_err("cached", store_msg_cache_get(mbox, (uint32_t)strtoul(args[1], NULL,
										  10), &blob, &len));
		if (code == 0 && msg_blob_read(blob, len, &info) != 0)
			code = ctl_err("cached", STORE_ECORRUPT);
		if (code == 0)
			printf("parts %u\n", (unsigned)info->n_parts);
		msg_info_free(&info);
		free(blob);
		store_mailbox_close(&mbox);
	} else if (strcmp(op, "dump-all") == 0 && nargs == 0) {
		struct store_mailbox_info *list = NULL;
		size_t n = 0;
		code = ctl_err("list", store_mailbox_list(user, &list, &n));
		for (size_t k = 0; code == 0 && k < n; k++) {
			printf("N\t%s\n", list[k].name);
			code = ctl_dump(user, list[k].name);
		}
		if (list != NULL)
			store_mailbox_list_free(list, n);
	} else if (strcmp(op, "dump") == 0 && nargs == 1) {
		code = ctl_dump(user, args[0]);
	} else {
		store_user_close(&user);
		store_destroy(&store);
		usage();
		return 2;
	}
	store_user_close(&user);
	store_destroy(&store);
	return code;
}
