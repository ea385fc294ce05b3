/* Benchmark of the message parser (not a test): MB/s parsed over the shared
 * corpus (parse only; parse + cache blob; in 64 KiB chunks as APPEND streams
 * them), and what FETCH 1:* (ENVELOPE BODYSTRUCTURE) costs on 10k cached
 * messages: blob read + IMAP formatting, no message file opened. Files are
 * read into memory first, so the disk is not measured. Usage:
 * bench-message [CORPUS_DIR] [--rounds N]; CORPUS_DIR defaults to
 * tests/corpus/mail. Prints one table. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmem.h"
#include "server/imap/fetch-format.h"
#include "storage/message/message.h"

struct msg {
	char *data;
	size_t len;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *name, double value, const char *unit, const char *note)
{
	printf("%-50s %12.1f  %-10s %s\n", name, value, unit, note != NULL ? note : "");
}

static size_t load(const char *dir, struct msg **msgs_r)
{
	char path[16400], line[8192];
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "bench-message: cannot open %s\n", path);
		exit(1);
	}
	struct msg *v = NULL;
	size_t n = 0, cap = 0;
	if (fgets(line, sizeof(line), f) == NULL)
		exit(1);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		int fd = open(path, O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0)
			exit(1);
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].len = (size_t)st.st_size;
		v[n].data = xmalloc(v[n].len + 1);
		if (read(fd, v[n].data, v[n].len) != (ssize_t)v[n].len)
			exit(1);
		close(fd);
		n++;
	}
	fclose(f);
	*msgs_r = v;
	return n;
}

int main(int argc, char **argv)
{
	const char *dir = "tests/corpus/mail";
	int rounds = 5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else
			dir = argv[i];
	}
	struct msg *msgs;
	size_t n = load(dir, &msgs), total = 0;
	for (size_t i = 0; i < n; i++)
		total += msgs[i].len;
	double mb = (double)total * rounds / 1e6;
	char note[160];
	printf("%-50s %12s  %-10s %s\n", "measurement", "value", "unit", "notes");
	printf("----------------------------------------------------------------------------------------------------\n");

	double t0 = now();
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++) {
			struct msg_info *info = msg_parse_buffer(msgs[i].data, msgs[i].len, NULL);
			msg_info_free(&info);
		}
	double t = now() - t0;
	snprintf(note, sizeof(note), "%zu messages, %.1f MB, %d rounds", n, (double)total / 1e6, rounds);
	report("parse, whole message in memory", mb / t, "MB/s", note);

	void **blobs = xcalloc(n, sizeof(void *));
	size_t *blob_len = xcalloc(n, sizeof(size_t)), blob_total = 0;
	t0 = now();
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++) {
			struct msg_parser *p = msg_parser_new(NULL);
			for (size_t off = 0; off < msgs[i].len; off += 65536)
				msg_parser_feed(p, msgs[i].data + off,
						msgs[i].len - off < 65536 ? msgs[i].len - off : 65536);
			struct msg_info *info = msg_parser_finish(&p);
			free(blobs[i]);
			msg_blob_write(info, &blobs[i], &blob_len[i]);
			msg_info_free(&info);
		}
	t = now() - t0;
	for (size_t i = 0; i < n; i++)
		blob_total += blob_len[i];
	snprintf(note, sizeof(note), "64 KiB chunks; blobs %.1f%% of message bytes, %zu B average",
		 100.0 * (double)blob_total / (double)total, blob_total / n);
	report("parse + cache blob, streamed", mb / t, "MB/s", note);

	/* FETCH 1:* (ENVELOPE BODYSTRUCTURE) over 10k cached messages */
	size_t fetches = 10000;
	struct msg_buf out = { 0 };
	size_t bytes = 0;
	t0 = now();
	for (size_t k = 0; k < fetches; k++) {
		size_t i = k % n;
		struct msg_info *info;
		if (msg_blob_read(blobs[i], blob_len[i], &info) != 0)
			exit(1);
		out.len = 0;
		msg_buf_puts(&out, "* 1 FETCH (ENVELOPE ");
		imap_fmt_envelope(&out, info->root->envelope);
		msg_buf_puts(&out, " BODYSTRUCTURE ");
		imap_fmt_body(&out, info, true, 0);
		msg_buf_puts(&out, ")\r\n");
		bytes += out.len;
		msg_info_free(&info);
	}
	t = now() - t0;
	snprintf(note, sizeof(note), "blob read + formatting, %.1f MB of responses", (double)bytes / 1e6);
	report("FETCH 1:* (ENVELOPE BODYSTRUCTURE), 10k cached", t * 1000.0, "ms", note);
	report("  per message", t * 1e6 / (double)fetches, "us", NULL);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	report("peak RSS (corpus held in memory)", (double)ru.ru_maxrss / 1024.0, "MiB", NULL);
	msg_buf_free(&out);
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].data);
		free(blobs[i]);
	}
	free(msgs);
	free(blobs);
	free(blob_len);
	return 0;
}
