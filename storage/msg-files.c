/* The file side of per-message changes (msg-files.h): flag renames are not
 * directory-fsynced (the index is authoritative for flags), retired and
 * placed files are registered with the batch's undo log so a failed batch
 * leaves the Maildir as it was. */
#include "storage/msg-files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmem.h"
#include "storage/maildir.h"
#include "storage/store-private.h"
#include "storage/writer.h"

int msg_file_rename(struct wtxn *w, const char *dir, const struct idx_msg *old,
		      const struct idx_msg *m)
{
	char *from = store_msg_path(dir, old);
	char *to = store_msg_path(dir, m);
	int err = 0;
	if (from == NULL || to == NULL) {
		err = STORE_EIO;
	} else if (strcmp(from, to) != 0) {
		if (rename(from, to) == 0) {
			wtxn_undo_rename(w, from, to);
		} else if (errno == ENOENT) {
			char *found = NULL;
			if (maildir_find_base(dir, m->base, &found) == 0) {
				if (rename(found, to) == 0)
					wtxn_undo_rename(w, found, to);
				else
					err = STORE_EIO;
			} else {
				log_warn("store: message file of uid=%u in %s missing", m->uid, dir);
			}
			free(found);
		} else {
			log_error("store: rename %s: %s", from, strerror(errno));
			err = STORE_EIO;
		}
	}
	free(from);
	free(to);
	return err;
}

int msg_file_retire(struct wtxn *w, const char *dir, const struct idx_msg *m)
{
	char *from = store_msg_path(dir, m);
	char *to = xasprintf("%s/tmp/%s.expunged", dir, m->base);
	int err = 0;
	char *found = NULL;
	if (from != NULL && rename(from, to) != 0) {
		if (errno == ENOENT && maildir_find_base(dir, m->base, &found) == 0) {
			free(from);
			from = found;
			if (rename(from, to) != 0)
				err = STORE_EIO;
		} else if (errno != ENOENT) {
			err = STORE_EIO;
		} else {
			free(from);
			from = NULL;   /* already gone */
		}
	}
	if (err != 0)
		log_error("store: remove message %s: %s", from ? from : m->base, strerror(errno));
	else if (from != NULL) {
		wtxn_undo_rename(w, from, to);
		wtxn_rm_after_commit(w, to);
	}
	free(from);
	free(to);
	return err;
}

static int copy_bytes(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	char buf[65536];
	ssize_t n;
	int ret = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(out, buf + off, (size_t)(n - off));
			if (k < 0) {
				ret = -errno;
				break;
			}
			off += k;
		}
		if (ret != 0)
			break;
	}
	if (n < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && fsync(out) != 0)
		ret = -errno;
	close(in);
	close(out);
	if (ret != 0)
		unlink(to);
	return ret;
}

int msg_file_place(struct wtxn *w, bool move, const char *src_dir, const char *dst_dir,
		   const struct idx_msg *m, const struct idx_msg *nm)
{
	char *from = store_msg_path(src_dir, m);
	char *to = store_msg_path(dst_dir, nm);
	char *found = NULL;
	int r = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (move)
			r = rename(from, to) == 0 ? 0 : -errno;
		else {
			r = link(from, to) == 0 ? 0 : -errno;
			if (r == -EXDEV || r == -EPERM || r == -EMLINK)
				r = copy_bytes(from, to);
		}
		if (r != -ENOENT || attempt == 1 || maildir_find_base(src_dir, m->base, &found) != 0)
			break;
		free(from);
		from = found;
		found = NULL;
	}
	int err = 0;
	if (r == 0) {
		if (move)
			wtxn_undo_rename(w, from, to);
		else
			wtxn_undo_unlink(w, to);
	} else {
		log_error("store: %s %s -> %s: %s", move ? "move" : "copy", from, to, strerror(-r));
		err = r == -ENOENT ? STORE_ENOTFOUND : STORE_EIO;
	}
	free(from);
	free(to);
	return err;
}

static bool kw_has(const struct idx_msg *m, uint16_t id)
{
	for (unsigned i = 0; i < m->n_keywords; i++) {
		if (m->keywords[i] == id)
			return true;
	}
	return false;
}

int msg_flags_apply(enum store_flags_op how, uint32_t flags, const uint16_t *ids, size_t n_ids,
		    struct idx_msg *m)
{
	uint32_t f = flags & STORE_SYSTEM_FLAGS;
	switch (how) {
	case STORE_FLAGS_SET:
		m->flags = f;
		m->n_keywords = 0;
		/* fall through */
	case STORE_FLAGS_ADD:
		if (how == STORE_FLAGS_ADD)
			m->flags |= f;
		for (size_t i = 0; i < n_ids; i++) {
			if (kw_has(m, ids[i]))
				continue;
			if (m->n_keywords == STORE_MAX_KEYWORDS_PER_MSG)
				return STORE_EINVALID;
			m->keywords[m->n_keywords++] = ids[i];
		}
		break;
	case STORE_FLAGS_REMOVE:
		m->flags &= ~f;
		for (size_t i = 0; i < n_ids; i++) {
			for (unsigned j = 0; j < m->n_keywords; j++) {
				if (m->keywords[j] == ids[i]) {
					m->keywords[j] = m->keywords[--m->n_keywords];
					break;
				}
			}
		}
		break;
	}
	return 0;
}

bool msg_flags_same(const struct idx_msg *a, const struct idx_msg *b)
{
	if (a->flags != b->flags || a->n_keywords != b->n_keywords)
		return false;
	for (unsigned i = 0; i < a->n_keywords; i++) {
		if (!kw_has(b, a->keywords[i]))
			return false;
	}
	return true;
}
