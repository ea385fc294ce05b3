/* The cross-process bump file <index>/notify: each process that commits to
 * a user's index owns one 16-byte slot of it (pid, counter), claimed with
 * an open-file-description lock that the kernel drops when the process
 * ends, and rewrites only that slot after each commit. The inotify thread
 * of every process reads the (small) file on a wake and compares it with
 * what it read last: when only its own slot changed, the wake was its own
 * bump and nothing needs re-reading (storage-internal). */
#ifndef LOFT_STORAGE_NOTIFY_SLOT_H
#define LOFT_STORAGE_NOTIFY_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_SLOT_SIZE 16
#define NOTIFY_SLOTS_MAX 4096

struct notify_slots {
	unsigned char *data;
	size_t len;
};

/* Claim a free slot of the open file fd (read-write); the slot number, or
 * -1 when none could be locked (then slot 0 is used unlocked). */
int notify_slot_claim(int fd);
/* Write (pid, seq) into slot. Returns 0 or -errno. */
int notify_slot_write(int fd, int slot, uint64_t seq);
/* The file's slots as they are now (an unreadable file reads as empty). */
void notify_slots_read(const char *index_dir, struct notify_slots *slots);
/* Read the file again: true when a slot other than own_slot changed since
 * *seen (or the file could not be read), which *seen then becomes. */
bool notify_slots_foreign(const char *index_dir, int own_slot, struct notify_slots *seen);
void notify_slots_free(struct notify_slots *slots);

#endif
