/* Maildir++ file layer (internal to storage/): file names, the streamed
 * temporary-file writer, directory scans and durable renames. Knows nothing
 * of LMDB; the index layer calls it. All paths are built below a user's
 * directory and all names passed in have been validated by mailbox-name.h.
 *
 * File name grammar (written by us; anything else found on disk is adopted):
 *     <base>[,U=<uid>][,S=<size>][,W=<vsize>]:2,<info>
 * base  = "<sec>.M<usec>P<pid>Q<seq>R<rand>.<host>" — unique, never changes
 *         for the life of the message, and is the message's identity in the
 *         index.
 * info  = system flags in ASCII order of letters "DFPRST" followed by keyword
 *         letters 'a'..'z' (keyword ids 0..25 of the user's keyword table;
 *         the mapping is kept in <user dir>/loft-keywords for rebuilds). */
#ifndef LOFT_STORAGE_MAILDIR_H
#define LOFT_STORAGE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAILDIR_KEYWORD_LETTERS 26

/* Parsed form of a Maildir file name. Fields absent from the name are 0. */
struct maildir_name {
	char base[128];         /* the unique part, NUL terminated */
	uint32_t uid;           /* ,U= */
	uint64_t size;          /* ,S= */
	uint64_t vsize;         /* ,W= */
	uint32_t flags;         /* STORE_FLAG_* from D F P R S T */
	uint32_t keyword_bits;  /* bit i = letter 'a'+i */
	bool has_info;          /* ":2," present */
};

/* Parse a file name as found in cur/ or new/. Returns 0, or -1 for names
 * that are not messages (dot files, empty, over-long base). The base is the
 * part before ':' with the known ",U=", ",S=", ",W=" fields (decimal) cut
 * out; any other ",token" stays in the base. Only ":2," info is read:
 * unknown letters (and 'P') are ignored. */
int maildir_name_parse(const char *filename, struct maildir_name *name_r);
/* Format the canonical name; returns length or -1 if buf is too small or
 * the base is empty or holds '/' or ':'. Zero fields are left out; ":2,<info>"
 * is written when has_info is set or any flag/keyword bit is (RECENT is
 * never written). */
int maildir_name_format(const struct maildir_name *name, char *buf, size_t bufsize);
/* A new unique base (thread-safe, unique across processes and hosts). */
void maildir_new_base(char *buf, size_t bufsize);

/* Mailbox directory creation: makes <dir>, cur/, new/, tmp/ and fsyncs the
 * parent. Idempotent. Returns 0 or -errno. */
int maildir_create(const char *dir);
/* Remove a mailbox directory with everything in it (after the index dropped
 * it). Only cur/, new/, tmp/ and plain files are removed; if the directory
 * holds any other subdirectory nothing is touched and -ENOTEMPTY is
 * returned. Symlinks are unlinked, never followed. Returns 0 or -errno. */
int maildir_remove(const char *dir);
/* fsync a directory by path. Returns 0 or -errno. */
int maildir_fsync_dir(const char *dir);

/* Streamed writer of a new message into <dir>/tmp/<base>. */
struct maildir_tmp {
	int fd;
	char base[128];
	char path[4096];
	uint64_t size;          /* bytes written so far */
	uint64_t vsize;         /* size with bare LF counted as CRLF */
	bool last_was_cr;       /* vsize state across chunk boundaries */
};
int maildir_tmp_create(const char *dir, struct maildir_tmp *tmp);
/* A hard link to the file src wrote, as <dir>/tmp/<new base> (fd -1,
 * sizes copied). Returns 0 or -errno (EXDEV: another file system). */
int maildir_tmp_link(const char *dir, const struct maildir_tmp *src, struct maildir_tmp *tmp);
/* Write all of data (retrying short writes). Returns 0 or -errno (ENOSPC…). */
int maildir_tmp_write(struct maildir_tmp *tmp, const void *data, size_t len);
/* fsync and close the file (it stays in tmp/). Returns 0 or -errno. */
int maildir_tmp_finish(struct maildir_tmp *tmp);
/* Close (if open) and unlink the temporary file. */
void maildir_tmp_discard(struct maildir_tmp *tmp);

/* rename(from, to) where both are paths below the same user directory.
 * Returns 0 or -errno. The caller fsyncs the target directory. */
int maildir_rename(const char *from, const char *to);

/* One entry of a directory scan. */
struct maildir_entry {
	char *filename;         /* heap, as found */
	bool in_new;            /* found in new/ rather than cur/ */
	struct maildir_name name;
	int64_t mtime;          /* file mtime, seconds (internal date fallback) */
	int64_t ctime_ns;       /* inode change time, ns: when it was last renamed */
	uint64_t file_size;     /* st_size */
};
/* List every message file in <dir>/cur and <dir>/new. Dot files, names
 * that do not parse and non-regular files (symlinks too: never followed)
 * are skipped, and so is a file renamed away during the scan. Free with
 * maildir_scan_free. Returns 0 or -errno (-ENOENT if cur/ or new/ is
 * missing). */
int maildir_scan(const char *dir, struct maildir_entry **entries_r, size_t *count_r);
void maildir_scan_free(struct maildir_entry *entries, size_t count);
/* Modification time (ns) of <dir>/cur and <dir>/new, for a cheap "did anyone
 * touch this mailbox behind our back" check. Returns 0 or -errno. */
int maildir_dir_stamp(const char *dir, int64_t *cur_ns_r, int64_t *new_ns_r);
/* Find the current file of a message by base in <dir>/cur (then new/), for
 * when the expected name is stale. *path_r is heap. Returns 0, -ENOENT. */
int maildir_find_base(const char *dir, const char *base, char **path_r);
/* Remove files in <dir>/tmp older than max_age_sec (Maildir convention: 36h),
 * and loft-keywords.tmp.* files as old in dir itself (a user's root, where
 * a crash during maildir_keywords_write leaves them). */
void maildir_tmp_cleanup(const char *dir, int64_t max_age_sec);

/* Count the size with CRLF line ends of a chunk, given the state of the
 * previous chunk (*last_was_cr), updating it: every LF not preceded by CR
 * counts 2, every other byte (a bare CR too) counts 1. */
uint64_t maildir_crlf_size(const void *data, size_t len, bool *last_was_cr);

/* The user keyword table file <user dir>/loft-keywords: one "id name" per
 * line, rewritten atomically (tmp + rename + fsync). */
int maildir_keywords_write(const char *user_dir, char *const *names, size_t count);
/* Read it back; *names_r is a heap array of heap strings indexed by id
 * (NULL holes allowed). Missing file = 0 entries. */
int maildir_keywords_read(const char *user_dir, char ***names_r, size_t *count_r);

#endif
