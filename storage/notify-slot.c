/* Slots of the cross-process bump file (see notify-slot.h). */
#include "storage/notify-slot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/xmem.h"

int notify_slot_claim(int fd)
{
	for (int i = 0; i < NOTIFY_SLOTS_MAX; i++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = (off_t)i * NOTIFY_SLOT_SIZE,
				    .l_len = NOTIFY_SLOT_SIZE };
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return i;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
	}
	return -1;
}

int notify_slot_write(int fd, int slot, uint64_t seq)
{
	unsigned char buf[NOTIFY_SLOT_SIZE];
	uint64_t pid = (uint64_t)getpid();
	memcpy(buf, &pid, 8);
	memcpy(buf + 8, &seq, 8);
	off_t at = (off_t)(slot < 0 ? 0 : slot) * NOTIFY_SLOT_SIZE;
	return pwrite(fd, buf, sizeof(buf), at) == (ssize_t)sizeof(buf) ? 0 : -errno;
}

static int read_file(const char *index_dir, struct notify_slots *out)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/notify", index_dir);
	out->data = NULL;
	out->len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	size_t cap = (size_t)NOTIFY_SLOTS_MAX * NOTIFY_SLOT_SIZE;
	unsigned char *buf = xmalloc(cap);
	ssize_t n = pread(fd, buf, cap, 0);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err != 0 || n == 0) {
		free(buf);
		return err;
	}
	out->data = xrealloc(buf, (size_t)n);
	out->len = (size_t)n;
	return 0;
}

void notify_slots_read(const char *index_dir, struct notify_slots *slots)
{
	if (read_file(index_dir, slots) != 0)
		slots->len = 0;
}

bool notify_slots_foreign(const char *index_dir, int own_slot, struct notify_slots *seen)
{
	struct notify_slots now;
	if (read_file(index_dir, &now) != 0)
		return true;
	bool foreign = false;
	size_t len = now.len > seen->len ? now.len : seen->len;
	for (size_t off = 0; off < len && !foreign; off += NOTIFY_SLOT_SIZE) {
		if ((int)(off / NOTIFY_SLOT_SIZE) == (own_slot < 0 ? 0 : own_slot) && own_slot >= 0)
			continue;
		unsigned char a[NOTIFY_SLOT_SIZE] = { 0 }, b[NOTIFY_SLOT_SIZE] = { 0 };
		if (off < now.len)
			memcpy(a, now.data + off, now.len - off < sizeof(a) ? now.len - off : sizeof(a));
		if (off < seen->len)
			memcpy(b, seen->data + off,
			       seen->len - off < sizeof(b) ? seen->len - off : sizeof(b));
		foreign = memcmp(a, b, sizeof(a)) != 0;
	}
	notify_slots_free(seen);
	*seen = now;
	return foreign;
}

void notify_slots_free(struct notify_slots *slots)
{
	free(slots->data);
	slots->data = NULL;
	slots->len = 0;
}
