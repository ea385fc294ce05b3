/* Benchmark of the TLS layer alone (server/net/tls.c), in one process with
 * no sockets (not a test): an OpenSSL client drives N server connections
 * through memory, and the program reports (1) the server's heap bytes per
 * established, idle TLS connection (OpenSSL's SSL object and tls.c's own),
 * (2) server CPU time per full and per resumed TLS 1.3 handshake plus one
 * greeting, measured on the server's calls only, and (3) the cryptographic
 * floor of those handshakes (one signature with the certificate's key and
 * two X25519 operations; X25519 alone for a resumed one) timed with
 * OpenSSL's EVP calls. What the server spends above the floor is protocol
 * and library overhead; what a real connection spends above this program's
 * figure is Loft's own (sockets, loop, buffers).
 * Usage: bench-tls CERT KEY [connections]. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "conf/config.h"
#include "server/net/tls.h"
#include "lib/error.h"
#include "lib/xmem.h"

struct pipe_buf {
	char *data;
	size_t len, cap;
};

struct pair {
	struct tls_conn *srv;
	SSL *cli;
	BIO *cli_in, *cli_out;      /* client's memory BIOs (its view) */
	struct pipe_buf to_cli;     /* server ciphertext for the client */
};


static double server_cpu;       /* seconds spent in server calls */

static double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void srv_out(void *arg, const char *data, size_t len)
{
	struct pipe_buf *b = arg;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* Move client ciphertext into the server and run it; returns plaintext the
 * server read (0 if none). */
static long server_step(struct pair *p)
{
	char buf[16384];
	long got = 0;
	int n = BIO_pending(p->cli_out);
	if (n <= 0)
		return 0;
	char *ct = xmalloc((size_t)n);
	BIO_read(p->cli_out, ct, n);
	double t0 = thread_cpu();
	tls_conn_feed(p->srv, ct, (size_t)n);
	long r;
	while ((r = tls_conn_read(p->srv, buf, sizeof(buf))) > 0)
		got += r;
	tls_conn_feed_end(p->srv);
	server_cpu += thread_cpu() - t0;
	free(ct);
	if (r == LOFT_EPROTO) {
		fprintf(stderr, "server: %s\n", tls_conn_error(p->srv));
		exit(1);
	}
	return got;
}

static void client_step(struct pair *p)
{
	if (p->to_cli.len > 0) {
		BIO_write(p->cli_in, p->to_cli.data, (int)p->to_cli.len);
		p->to_cli.len = 0;
	}
}

/* Handshake, then the server writes a greeting and the client reads it. */
static void connect_pair(struct pair *p, SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *sess)
{
	memset(p, 0, sizeof(*p));
	double t0 = thread_cpu();
	p->srv = tls_conn_new(sctx, srv_out, &p->to_cli);
	server_cpu += thread_cpu() - t0;
	p->cli = SSL_new(cctx);
	p->cli_in = BIO_new(BIO_s_mem());
	p->cli_out = BIO_new(BIO_s_mem());
	SSL_set_bio(p->cli, p->cli_in, p->cli_out);
	SSL_set_connect_state(p->cli);
	SSL_set_tlsext_host_name(p->cli, "localhost");
	if (sess != NULL) {
		SSL_set_session(p->cli, sess);
	}
	for (int round = 0; round < 10; round++) {
		int r = SSL_do_handshake(p->cli);
		server_step(p);
		client_step(p);
		if (r == 1 && tls_conn_handshake_done(p->srv))
			break;
	}
	static const char greeting[] = "* OK [CAPABILITY IMAP4rev1] Loft ready.\r\n";
	t0 = thread_cpu();
	tls_conn_write(p->srv, greeting, sizeof(greeting) - 1);
	server_cpu += thread_cpu() - t0;
	client_step(p);
	char buf[256];
	if (SSL_read(p->cli, buf, sizeof(buf)) <= 0 || !tls_conn_handshake_done(p->srv)) {
		fprintf(stderr, "handshake failed\n");
		ERR_print_errors_fp(stderr);
		exit(1);
	}
}

static void free_pair(struct pair *p)
{
	tls_conn_free(&p->srv);
	/* A client SSL freed without a shutdown marks its session as not
	 * resumable; this one ended cleanly as far as the bench cares. */
	SSL_set_shutdown(p->cli, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(p->cli);
	free(p->to_cli.data);
}

/* ---- the cryptographic floor ---- */

static double per_op(double seconds, int ops)
{
	return seconds / ops * 1e6;
}

static double time_sign(EVP_PKEY *key)
{
	unsigned char tbs[48] = { 1 }, sig[1024];
	int n = 200;
	double t0 = thread_cpu();
	for (int i = 0; i < n; i++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		size_t siglen = sizeof(sig);
		EVP_PKEY_CTX *pctx = NULL;
		EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key);
		if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
			EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_DigestSign(md, sig, &siglen, tbs, sizeof(tbs));
		EVP_MD_CTX_free(md);
	}
	return per_op(thread_cpu() - t0, n);
}

static double time_x25519(void)
{
	EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	int n = 500;
	double t0 = thread_cpu();
	for (int i = 0; i < n; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
		unsigned char secret[32];
		size_t len = sizeof(secret);
		EVP_PKEY_derive_init(c);
		EVP_PKEY_derive_set_peer(c, peer);
		EVP_PKEY_derive(c, secret, &len);
		EVP_PKEY_CTX_free(c);
		EVP_PKEY_free(k);
	}
	EVP_PKEY_free(peer);
	/* keygen + derive: the server's two X25519 operations */
	return per_op(thread_cpu() - t0, n);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench-tls CERT KEY [connections]\n");
		return 2;
	}
	int n = argc > 3 ? atoi(argv[3]) : 2000;
	char *text = xasprintf("[tls]\ncert_file = %s\nkey_file = %s\n", argv[1], argv[2]);
	struct loft_config *cfg;
	char *err = NULL;
	if (conf_load_string("bench-tls.conf", text, &cfg, &err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	free(text);
	SSL_CTX *sctx = tls_ctx_create(cfg, &err);
	if (sctx == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);



	/* Warm up, and keep a session for the resumed handshakes. */
	struct pair warm;
	connect_pair(&warm, sctx, cctx, NULL);
	SSL_SESSION *sess = SSL_get1_session(warm.cli);
	free_pair(&warm);

	struct pair *pairs = xcalloc((size_t)n, sizeof(*pairs));
	malloc_trim(0);
	struct mallinfo2 before = mallinfo2();
	server_cpu = 0;
	for (int i = 0; i < n; i++)
		connect_pair(&pairs[i], sctx, cctx, NULL);
	double full_us = server_cpu / n * 1e6;
	/* Only the server's side stays: free the clients and the buffers. */
	for (int i = 0; i < n; i++) {
		SSL_free(pairs[i].cli);
		pairs[i].cli = NULL;
		free(pairs[i].to_cli.data);
		pairs[i].to_cli.data = NULL;
	}
	malloc_trim(0);
	struct mallinfo2 after = mallinfo2();
	double per_conn = ((double)after.uordblks - (double)before.uordblks) / n;
	for (int i = 0; i < n; i++)
		tls_conn_free(&pairs[i].srv);

	server_cpu = 0;
	int resumed = 0;
	for (int i = 0; i < n; i++) {
		struct pair p;
		connect_pair(&p, sctx, cctx, sess);
		resumed += tls_conn_resumed(p.srv);
		SSL_SESSION *next = SSL_get1_session(p.cli);
		SSL_SESSION_free(sess);
		sess = next;
		free_pair(&p);
	}
	double resumed_us = server_cpu / n * 1e6;

	FILE *f = fopen(argv[1], "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	EVP_PKEY *key = x ? X509_get_pubkey(x) : NULL;
	f = fopen(argv[2], "r");
	EVP_PKEY *priv = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	double sign_us = priv ? time_sign(priv) : 0, x_us = time_x25519();
	printf("%-52s %10s\n", "measurement (server side, one thread)", "value");
	printf("%-52s %10.0f\n", "heap bytes per idle TLS connection (SSL + tls.c)", per_conn);
	printf("%-52s %10.1f\n", "us per full handshake + greeting", full_us);
	printf("%-52s %10.1f  (%d of %d resumed)\n", "us per resumed handshake + greeting",
	       resumed_us, resumed, n);
	printf("%-52s %10.1f\n", "floor: signature with the certificate key, us", sign_us);
	printf("%-52s %10.1f\n", "floor: X25519 keygen + derive, us", x_us);
	printf("%-52s %10.1f  (full / floor %.2f)\n", "floor of a full handshake, us",
	       sign_us + x_us, full_us / (sign_us + x_us));
	printf("%-52s %10.1f  (resumed / floor %.2f)\n", "floor of a resumed handshake, us",
	       x_us, resumed_us / x_us);
	EVP_PKEY_free(key);
	EVP_PKEY_free(priv);
	X509_free(x);
	SSL_SESSION_free(sess);
	free(pairs);
	SSL_CTX_free(cctx);
	tls_ctx_free(sctx);
	conf_free(cfg);
	return 0;
}
