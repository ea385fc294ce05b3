/* Keyword id allocation for writer ops and the loft-keywords file that lets
 * an index rebuild map Maildir keyword letters back to names. */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "storage/maildir.h"
#include "storage/store-keywords.h"
#include "storage/store-private.h"
#include "storage/writer.h"

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return x < y ? -1 : x > y;
}

static int rewrite_keyword_file(struct wtxn *w)
{
	char **names;
	size_t n;
	int err = idx_keyword_table(w->idx, w->txn, &names, &n);
	if (err != 0)
		return err;
	int r = maildir_keywords_write(w->u->dir, names,
				       n < MAILDIR_KEYWORD_LETTERS ? n : MAILDIR_KEYWORD_LETTERS);
	if (r != 0) {
		log_error("store: write loft-keywords of user=%s: %s", w->u->name, strerror(-r));
		err = STORE_EIO;
	}
	store_strv_free(names, n);
	return err;
}

int store_keywords_resolve(struct wtxn *w, const char *const *names, size_t n, uint16_t *ids_r,
			   size_t *n_r)
{
	size_t k = 0;
	bool rewrite = false;
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL || !idx_keyword_valid(names[i]))
			return STORE_EINVALID;
		uint16_t id;
		bool created;
		int err = idx_keyword_id(w->idx, w->txn, names[i], true, &id, &created);
		if (err != 0)
			return err;
		if (created && id < MAILDIR_KEYWORD_LETTERS)
			rewrite = true;
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = ids_r[j] == id;
		if (dup)
			continue;
		if (k == STORE_MAX_KEYWORDS_PER_MSG)
			return STORE_EINVALID;
		ids_r[k++] = id;
	}
	store_qsort(ids_r, k, sizeof(*ids_r), cmp_u16);
	*n_r = k;
	if (rewrite)
		return rewrite_keyword_file(w);
	return 0;
}
