/* match_mailbox: the Maildir <-> index matching rules of match.h, written
 * once. Files are sorted by base and found by binary search, so a mailbox
 * of n files and m records costs O((n + m) log n) and one pass over the
 * records in UID order through the index iterator. */
#include "storage/match.h"

#include <string.h>

#include "lib/xmem.h"
#include "storage/store-private.h"

static int base_cmp(const void *a, const void *b)
{
	const struct maildir_entry *x = a, *y = b;
	int c = strcmp(x->name.base, y->name.base);
	return c != 0 ? c : strcmp(x->filename, y->filename);
}

/* Adopt order: files with U= first by U=, then the rest by mtime. */
int match_adopt_cmp(const void *a, const void *b)
{
	const struct maildir_entry *x = *(struct maildir_entry *const *)a;
	const struct maildir_entry *y = *(struct maildir_entry *const *)b;
	if ((x->name.uid == 0) != (y->name.uid == 0))
		return x->name.uid == 0 ? 1 : -1;
	if (x->name.uid != y->name.uid)
		return x->name.uid < y->name.uid ? -1 : 1;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->filename, y->filename);
}

/* First entry with this base, or NULL. */
static size_t first_of(const struct maildir_entry *e, size_t n, const char *base)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(e[mid].name.base, base) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(e[lo].name.base, base) == 0 ? lo : n;
}

int match_mailbox(struct idx *idx, MDB_txn *txn, uint32_t mbox_id, struct maildir_entry *ents,
		  size_t n, const struct match_ops *ops, void *ctx)
{
	store_qsort(ents, n, sizeof(*ents), base_cmp);
	bool *used = xcalloc(n ? n : 1, sizeof(*used));
	struct idx_iter it;
	struct idx_msg m;
	int err = idx_msg_iter_open(idx, txn, mbox_id, 0, &it);
	int r;
	while (err == 0 && (r = idx_msg_iter_next(&it, &m)) != 0) {
		if (r < 0) {
			err = r;
			break;
		}
		size_t i = first_of(ents, n, m.base);
		while (i < n && used[i] && strcmp(ents[i].name.base, m.base) == 0)
			i++;
		if (i < n && strcmp(ents[i].name.base, m.base) == 0) {
			used[i] = true;
			if (ops->pair != NULL)
				err = ops->pair(ctx, &m, &ents[i]);
		} else if (ops->lost != NULL) {
			err = ops->lost(ctx, &m);
		}
	}
	idx_iter_close(&it);
	struct maildir_entry **strays = xmalloc((n ? n : 1) * sizeof(*strays));
	size_t n_strays = 0;
	for (size_t i = 0; i < n; i++) {
		if (!used[i])
			strays[n_strays++] = &ents[i];
	}
	store_qsort(strays, n_strays, sizeof(*strays), match_adopt_cmp);
	for (size_t s = 0; s < n_strays && err == 0; s++) {
		struct maildir_entry *e = strays[s];
		bool dup = false;
		for (size_t i = first_of(ents, n, e->name.base);
		     i < n && !dup && strcmp(ents[i].name.base, e->name.base) == 0; i++)
			dup = &ents[i] != e && used[i];
		used[e - ents] = true;
		if (ops->stray != NULL)
			err = ops->stray(ctx, e, dup);
	}
	free(strays);
	free(used);
	return err;
}
