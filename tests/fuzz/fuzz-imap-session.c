/* libFuzzer target for the IMAP command parser WITH the session behind it:
 * the real IMAP front end (parser, dispatcher, every command handler, the
 * FETCH engine, updates, IDLE, APPEND streaming) of an in-process server
 * on a loopback port, against a store in a temporary directory. Each input
 * is one connection: an automatic LOGIN (and, when the first byte is odd,
 * a SELECT INBOX), then the input's bytes as the client's, then the end of
 * the client's data; the server must answer and close without a crash, a
 * sanitizer report or a hang (no close within HANG_MS aborts). INBOX holds
 * seed messages with nested MIME (multipart, message/rfc822, base64,
 * quoted-printable, NUL bytes, an unknown encoding) so FETCH, SEARCH-like
 * and section items reach real data; every CLEAN_EVERY inputs the store is
 * put back to the seed state, so it does not grow for ever.
 *
 * Run: cmake -DLOFT_FUZZ=ON -DCMAKE_C_COMPILER=clang; then
 *   build-fuzz/fuzz-imap-session -max_total_time=1800 tests/fuzz/corpus/imap-session
 * Leaks are checked once, at exit, after the server has stopped: the
 * server's threads hold memory between inputs, so libFuzzer's check after
 * each input (-detect_leaks) is turned off unless given on the command
 * line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sanitizer/lsan_interface.h>

#include "conf/config.h"
#include "lib/log.h"
#include "lib/xmem.h"
#include "server/imap/imap.h"
#include "server/net/loop.h"
#include "server/services.h"
#include "storage/message/message.h"

#define HANG_MS 20000
#define CLEAN_EVERY 500

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	char dir[64];
	struct loft_services *svc;
	struct net_server *net;
	struct net_snapshot *snap;
	uint16_t port;
	unsigned runs;
} fz;

#define SEED(text) { text, sizeof(text) - 1 }
static const struct {
	const char *data;
	size_t len;
} seeds[] = {
	SEED("From: A <a@example.org>\r\nTo: b@example.org\r\nSubject: plain\r\n"
	     "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\nhello\r\nworld\r\n"),
	SEED("From: c@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\nMIME-Version: 1.0\n"
	     "Content-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain; "
	     "charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nqp =C3=A9 a=00b=\nsoft\n"
	     "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
	     "Content-Disposition: attachment; filename*=utf-8''x%20y\n\nAAECAwQF\nYWJj\n"
	     "--b\nContent-Type: message/rfc822\n\nFrom: in@x\nSubject: inner\n"
	     "Content-Type: multipart/alternative; boundary=c\n\n--c\n\ninner text\n"
	     "--c\nContent-Type: text/html\n\n<b>x</b>\n--c--\n"
	     "--b\nContent-Type: image/gif\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n--b--\n"),
	SEED("Subject: nul\r\nContent-Type: text/plain\r\n\r\na\0b\r\n"),
	SEED("Subject: global\r\nContent-Type: message/global\r\n\r\nFrom: \xc3\xa9@x\r\n\r\nbody\r\n"),
	SEED("no header line at all and no blank line"),
};

static int connect_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(fz.port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		fprintf(stderr, "fuzz-imap-session: connect: %s\n", strerror(errno));
		abort();
	}
	return fd;
}

/* Send out while reading the server's output; returns once all is sent
 * and then: at EOF (close_after: the client's data ends after out), when
 * the output ends with until (and is kept in *got when given), or at once
 * (neither). Aborts when the server hangs. */
static void exchange(int fd, const void *out, size_t out_len, bool close_after,
		     const char *until, struct msg_buf *got)
{
	static char buf[65536], win[65536 + 64];
	size_t sent = 0, tail_len = 0;
	char tail[64];
	bool shut = false;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (sent == out_len && close_after && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		if (sent == out_len && !close_after && until == NULL)
			return;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (sent < out_len)
			p.events |= POLLOUT;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > HANG_MS) {
			fprintf(stderr, "fuzz-imap-session: no answer for %d ms\n", HANG_MS);
			abort();
		}
		if (poll(&p, 1, 200) <= 0)
			continue;
		if (p.revents & POLLOUT) {
			ssize_t n = send(fd, (const char *)out + sent, out_len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = out_len;        /* the server closed: fine */
		}
		if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return;                        /* closed */
		if (until == NULL)
			continue;
		if (got != NULL && got->len < (1u << 20))
			msg_buf_append(got, buf, (size_t)n);
		/* look for until in what came, joined to the end of what came
		 * before (it may straddle two reads) */
		size_t ul = strlen(until);
		memcpy(win, tail, tail_len);
		memcpy(win + tail_len, buf, (size_t)n);
		size_t wl = tail_len + (size_t)n;
		if (memmem(win, wl, until, ul) != NULL)
			return;
		tail_len = wl < sizeof(tail) ? wl : sizeof(tail);
		memcpy(tail, win + wl - tail_len, tail_len);
	}
}

static void command(int fd, const char *line, const char *until)
{
	exchange(fd, line, strlen(line), false, until, NULL);
}

/* The names of "* LIST (...) "/" name" lines (atoms and quoted strings as
 * sent, which is how DELETE takes them back), last first: children go
 * before their parents. */
static size_t list_names(const struct msg_buf *b, char **names, size_t max)
{
	size_t n = 0;
	const char *p = b->data, *end = b->data + b->len;
	while (p < end && n < max) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		const char *q = p;
		if ((size_t)(nl - p) > 10 && strncmp(p, "* LIST (", 8) == 0 &&
		    (q = memchr(p + 8, ')', (size_t)(nl - p - 8))) != NULL && q + 6 < nl) {
			const char *name = q + 6;        /* past ') "/" ' */
			size_t len = (size_t)(nl - name);
			if (len > 0 && name[len - 1] == '\r')
				len--;
			if (len > 0 && name[0] != '{' && !(len == 5 && strncmp(name, "INBOX", 5) == 0))
				names[n++] = xstrndup(name, len);
		}
		p = nl + 1;
	}
	return n;
}

/* INBOX back to the seed messages, every other mailbox gone. */
static void reset_store(void)
{
	int fd = connect_server();
	command(fd, "", "\r\n");                                   /* greeting */
	command(fd, "a LOGIN fuzz pw\r\n", "a OK");
	struct msg_buf list = { 0 };
	const char *line = "l LIST \"\" *\r\n";
	exchange(fd, line, strlen(line), false, "l OK", &list);
	char *names[4096];
	size_t n = list_names(&list, names, 4096);
	msg_buf_free(&list);
	for (size_t i = n; i-- > 0;) {
		char *del = xasprintf("d DELETE %s\r\n", names[i]);
		command(fd, del, "d ");
		free(del);
		free(names[i]);
	}
	command(fd, "s SELECT INBOX\r\n", "s ");
	command(fd, "e1 STORE 1:* +FLAGS.SILENT (\\Deleted)\r\n", "e1 ");
	command(fd, "e2 EXPUNGE\r\n", "e2 ");
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char head[128], want[16];
		snprintf(head, sizeof(head), "p%zu APPEND INBOX (\\Seen $Kw) {%zu+}\r\n", i,
			 seeds[i].len);
		command(fd, head, NULL);
		exchange(fd, seeds[i].data, seeds[i].len, false, NULL, NULL);
		snprintf(want, sizeof(want), "p%zu ", i);
		command(fd, "\r\n", want);
	}
	command(fd, "c CREATE Work/Sub\r\nc2 CREATE Sent\r\n", "c2 ");
	command(fd, "z LOGOUT\r\n", "z OK");
	close(fd);
}

static void stop_server(void)
{
	if (fz.net == NULL)
		return;
	net_server_stop(fz.net);
	net_server_join(&fz.net);
	services_close(&fz.svc);
	net_snapshot_unref(&fz.snap);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-imap-session: could not remove %s\n", fz.dir);
	/* everything is stopped and freed: what is still allocated leaked */
	__lsan_do_leak_check();
}

/* libFuzzer parses its flags after this returns: add -detect_leaks=0
 * unless the command line says otherwise. */
static void no_leak_check_per_input(int *argc, char ***argv)
{
	static char *args[512];
	static char flag[] = "-detect_leaks=0";
	int n = *argc;
	if (n + 1 >= (int)(sizeof(args) / sizeof(args[0])))
		return;
	for (int i = 0; i < n; i++) {
		if (strncmp((*argv)[i], "-detect_leaks=", 14) == 0)
			return;
		args[i] = (*argv)[i];
	}
	args[n] = flag;
	args[n + 1] = NULL;
	*argv = args;
	*argc = n + 1;
}

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		abort();
	close(fd);
	return ntohs(sin.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	no_leak_check_per_input(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("LOFT_FUZZ_LOG") != NULL ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	snprintf(fz.dir, sizeof(fz.dir), "/tmp/loft-fuzz-session.XXXXXX");
	if (mkdtemp(fz.dir) == NULL)
		abort();
	char *users = xasprintf("%s/users", fz.dir);
	FILE *f = fopen(users, "w");
	if (f == NULL)
		abort();
	fputs("fuzz:{PLAIN}pw\n", f);
	fclose(f);
	fz.port = free_port();
	/* small limits keep a fuzz input cheap: literals, lines, output */
	char *text = xasprintf(
		"[server]\nworkers = 1\nstate_dir = %s\nmail_dir = %s/mail\nusers_file = %s\n"
		"hostname = localhost\nlocal_domains = localhost\n"
		"[storage]\ninitial_mailboxes = Sent \\Sent, Trash \\Trash\n"
		"[limits]\nmax_literal_size = 65536\nmax_line_length = 8192\n"
		"[listener imap]\nprotocol = imap\naddress = 127.0.0.1\nport = %u\ntls = none\n",
		fz.dir, fz.dir, users, fz.port);
	free(users);
	struct loft_config *cfg;
	char *err = NULL;
	if (conf_load_string("fuzz-imap-session.conf", text, &cfg, &err) != 0) {
		fprintf(stderr, "fuzz-imap-session: config: %s\n", err);
		abort();
	}
	free(text);
	fz.snap = net_snapshot_create(cfg, &err);
	static const net_proto_table protos = { [CONF_PROTO_IMAP] = &imap_conn_proto };
	if (fz.snap == NULL || services_open(fz.snap->cfg, &fz.svc, &err) != 0 ||
	    net_server_create(fz.snap, protos, &fz.net, &err) != 0) {
		fprintf(stderr, "fuzz-imap-session: start: %s\n", err);
		abort();
	}
	fz.svc->net = fz.net;
	net_server_set_services(fz.net, fz.svc);
	if (net_server_start(fz.net, &err) != 0) {
		fprintf(stderr, "fuzz-imap-session: start: %s\n", err);
		abort();
	}
	reset_store();
	atexit(stop_server);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (++fz.runs % CLEAN_EVERY == 0)
		reset_store();
	int fd = connect_server();
	command(fd, "", "\r\n");
	command(fd, "a LOGIN fuzz pw\r\n", "a OK");
	if (data[0] & 1)
		command(fd, "b SELECT INBOX\r\n", "b OK");
	exchange(fd, data + 1, size - 1, true, NULL, NULL);
	close(fd);
	return 0;
}
