/* Unit tests of the smarthost SMTP client (server/relay/relay.c) against a
 * scripted SMTP server on a loopback thread: the dialogue (EHLO, MAIL with
 * BODY=8BITMIME when offered, RCPT, DATA, QUIT), dot-stuffing and CRLF line
 * ends of a message made of a head in memory and a range of a file, the
 * replies that fail a send (5xx, 4xx), a silent server (timeout), a refused
 * connection, no relay configured, and addresses that cannot be sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/error.h"
#include "server/relay/relay.h"
#include "storage/message/message.h"

struct sink {
	int lfd;
	unsigned port;
	const char *rcpt_reply;   /* reply to RCPT */
	bool silent;              /* never greet */
	bool eightbit;            /* offer 8BITMIME */
	struct msg_buf log;       /* what the client sent */
	pthread_t thread;
};

static void *sink_run(void *arg)
{
	struct sink *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (s->silent) {
		usleep(800000);
		close(fd);
		return NULL;
	}
	FILE *in = fdopen(fd, "r");
	dprintf(fd, "220 sink\r\n");
	char line[4096];
	bool data = false;
	while (fgets(line, sizeof(line), in) != NULL) {
		msg_buf_puts(&s->log, line);
		if (data) {
			if (strcmp(line, ".\r\n") == 0) {
				data = false;
				dprintf(fd, "250 queued\r\n");
			}
			continue;
		}
		if (strncmp(line, "EHLO", 4) == 0)
			dprintf(fd, s->eightbit ? "250-sink\r\n250 8BITMIME\r\n" : "250 sink\r\n");
		else if (strncmp(line, "MAIL", 4) == 0)
			dprintf(fd, "250 ok\r\n");
		else if (strncmp(line, "RCPT", 4) == 0)
			dprintf(fd, "%s\r\n", s->rcpt_reply ? s->rcpt_reply : "250 ok");
		else if (strncmp(line, "DATA", 4) == 0) {
			dprintf(fd, "354 go\r\n");
			data = true;
		} else if (strncmp(line, "QUIT", 4) == 0) {
			dprintf(fd, "221 bye\r\n");
			break;
		} else {
			dprintf(fd, "500 what\r\n");
		}
	}
	fclose(in);
	return NULL;
}

static void sink_start(struct sink *s)
{
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	socklen_t len = sizeof(a);
	getsockname(s->lfd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	pthread_create(&s->thread, NULL, sink_run, s);
}

static void sink_stop(struct sink *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	msg_buf_putc(&s->log, '\0');
}

static struct relay *relay_for(unsigned port, unsigned timeout_ms)
{
	struct relay_settings set = { .host = "127.0.0.1", .port = port, .tls = CONF_TLS_NONE,
				      .timeout_ms = timeout_ms, .helo = "loft.test" };
	return relay_create(&set);
}

static void test_send_with_file_range(void **state)
{
	(void)state;
	struct sink s = { .eightbit = true };
	sink_start(&s);
	struct relay *r = relay_for(s.port, 5000);
	const char *file = "XXXXbody line\n.starts with a dot\nlast without end";
	int fd = memfd_create("m", 0);
	assert_int_equal(write(fd, file, strlen(file)), (ssize_t)strlen(file));
	const char *head = "Subject: hi\n\n";
	assert_int_equal(relay_send(r, "from@example.org", "to@example.net", head, strlen(head),
				    fd, 4, strlen(file)), 0);
	close(fd);
	relay_free(&r);
	sink_stop(&s);
	assert_string_equal(s.log.data,
			    "EHLO loft.test\r\n"
			    "MAIL FROM:<from@example.org> BODY=8BITMIME\r\n"
			    "RCPT TO:<to@example.net>\r\n"
			    "DATA\r\n"
			    "Subject: hi\r\n\r\nbody line\r\n..starts with a dot\r\nlast without end\r\n"
			    ".\r\n"
			    "QUIT\r\n");
	msg_buf_free(&s.log);
}

static void test_null_sender_without_8bitmime(void **state)
{
	(void)state;
	struct sink s = { 0 };
	sink_start(&s);
	struct relay *r = relay_for(s.port, 5000);
	assert_int_equal(relay_outbox_send(r, "", "to@example.net", "A: b\r\n\r\n.\r\n", 11, -1,
					   0, 0), 0);
	relay_free(&r);
	sink_stop(&s);
	assert_non_null(strstr(s.log.data, "MAIL FROM:<>\r\n"));
	assert_non_null(strstr(s.log.data, "A: b\r\n\r\n..\r\n.\r\n"));
	msg_buf_free(&s.log);
}

static void test_refusals(void **state)
{
	(void)state;
	struct sink s = { .rcpt_reply = "550 5.1.1 no such user" };
	sink_start(&s);
	struct relay *r = relay_for(s.port, 5000);
	assert_int_equal(relay_send(r, "a@b.c", "x@y.z", "x\r\n", 3, -1, 0, 0), LOFT_EPROTO);
	relay_free(&r);
	sink_stop(&s);
	assert_null(strstr(s.log.data, "DATA"));
	msg_buf_free(&s.log);
	struct sink t = { .rcpt_reply = "451 4.3.0 later" };
	sink_start(&t);
	r = relay_for(t.port, 5000);
	assert_int_equal(relay_send(r, "a@b.c", "x@y.z", "x\r\n", 3, -1, 0, 0), LOFT_EPROTO);
	relay_free(&r);
	sink_stop(&t);
	msg_buf_free(&t.log);
}

static void test_timeout_and_unreachable(void **state)
{
	(void)state;
	struct sink s = { .silent = true };
	sink_start(&s);
	struct relay *r = relay_for(s.port, 200);
	assert_int_equal(relay_send(r, "a@b.c", "x@y.z", "x\r\n", 3, -1, 0, 0), LOFT_EIO);
	relay_free(&r);
	sink_stop(&s);
	msg_buf_free(&s.log);
	/* a port nobody listens on */
	unsigned port = s.port;
	r = relay_for(port, 1000);
	assert_int_equal(relay_send(r, "a@b.c", "x@y.z", "x\r\n", 3, -1, 0, 0), LOFT_EIO);
	relay_free(&r);
	/* not configured */
	struct relay_settings none = { 0 };
	r = relay_create(&none);
	assert_int_equal(relay_send(r, "a@b.c", "x@y.z", "x\r\n", 3, -1, 0, 0), LOFT_ENOENT);
	/* addresses that would break the dialogue */
	struct relay *r2 = relay_for(port, 1000);
	assert_int_equal(relay_send(r2, "a@b.c>", "x@y.z", "x", 1, -1, 0, 0), LOFT_EINVAL);
	assert_int_equal(relay_send(r2, "a@b.c", "x@y.z\r\nRCPT TO:<e@v.il>", "x", 1, -1, 0, 0),
			 LOFT_EINVAL);
	assert_int_equal(relay_send(r2, "a@b.c", "", "x", 1, -1, 0, 0), LOFT_EINVAL);
	relay_free(&r2);
	relay_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_with_file_range),
		cmocka_unit_test(test_null_sender_without_8bitmime),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_timeout_and_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
