/* Unit tests of the TLS layer's channel bindings (server/net/tls.c): an
 * OpenSSL client over memory BIOs shakes hands with a tls_conn, then both
 * sides must agree on the bytes. tls-exporter (RFC 9266) is the client's
 * SSL_export_keying_material with label "EXPORTER-Channel-Binding" and no
 * context, under TLS 1.3 only; tls-server-end-point (RFC 5929) is the hash
 * of the server certificate with its signature's hash (SHA-256 for SHA-1
 * and MD5 signatures), and is not defined for Ed25519 certificates. Before
 * the handshake, and for unknown types, nothing is given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/error.h"
#include "lib/xmem.h"
#include "server/net/tls.h"

/* Ciphertext the server produced, for the client to read. */
struct wire {
	BIO *to_client;
};

static void server_out(void *arg, const char *data, size_t len)
{
	struct wire *w = arg;
	assert_int_equal(BIO_write(w->to_client, data, (int)len), (int)len);
}

/* A self-signed certificate for key, signed with md (NULL: Ed25519). */
static X509 *make_cert(EVP_PKEY *key, const EVP_MD *md)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
				   -1, -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, key, md) > 0);
	return x;
}

struct pair {
	SSL_CTX *sctx, *cctx;
	struct tls_conn *server;
	SSL *client;
	BIO *c_in, *c_out;          /* client's read / write memory BIOs */
	struct wire w;
	X509 *cert;
};

static void pair_open(struct pair *p, EVP_PKEY *key, const EVP_MD *md, int version)
{
	memset(p, 0, sizeof(*p));
	p->cert = make_cert(key, md);
	p->sctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(p->sctx, p->cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(p->sctx, key), 1);
	SSL_CTX_set_min_proto_version(p->sctx, TLS1_2_VERSION);
	p->cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(p->cctx, version);
	SSL_CTX_set_max_proto_version(p->cctx, version);
	p->client = SSL_new(p->cctx);
	p->c_in = BIO_new(BIO_s_mem());
	p->c_out = BIO_new(BIO_s_mem());
	SSL_set_bio(p->client, p->c_in, p->c_out);
	SSL_set_connect_state(p->client);
	p->w.to_client = p->c_in;
	p->server = tls_conn_new(p->sctx, server_out, &p->w);
	assert_non_null(p->server);
}

/* Run the handshake to its end on both sides. */
static void pair_handshake(struct pair *p)
{
	char buf[4096];
	for (int round = 0; round < 20; round++) {
		int r = SSL_do_handshake(p->client);
		int pending;
		while ((pending = BIO_read(p->c_out, buf, sizeof(buf))) > 0) {
			tls_conn_feed(p->server, buf, (size_t)pending);
			long n = tls_conn_read(p->server, buf, sizeof(buf));
			assert_true(n == LOFT_EAGAIN || n > 0);
			tls_conn_feed_end(p->server);
		}
		if (r == 1 && tls_conn_handshake_done(p->server))
			return;
	}
	fail_msg("handshake did not finish: %s", tls_conn_error(p->server));
}

static void pair_close(struct pair *p)
{
	tls_conn_free(&p->server);
	SSL_free(p->client);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	X509_free(p->cert);
}

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	return k;
}

static EVP_PKEY *rsa_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k);
	return k;
}

/* The client's view of tls-server-end-point: digest of the peer's
 * certificate with md. */
static size_t client_end_point(struct pair *p, const EVP_MD *md, unsigned char *out)
{
	X509 *peer = SSL_get1_peer_certificate(p->client);
	assert_non_null(peer);
	unsigned int n = 0;
	assert_int_equal(X509_digest(peer, md, out, &n), 1);
	X509_free(peer);
	return n;
}

static void test_exporter_tls13(void **state)
{
	(void)state;
	EVP_PKEY *key = ec_key();
	struct pair p;
	pair_open(&p, key, EVP_sha256(), TLS1_3_VERSION);
	unsigned char got[TLS_CB_MAX_LEN], want[32];
	size_t len = 99;
	/* before the handshake: nothing */
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-exporter", got, sizeof(got),
						  &len), LOFT_EINVAL);
	assert_int_equal(len, 0);
	pair_handshake(&p);
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-exporter", got, sizeof(got),
						  &len), 0);
	assert_int_equal(len, 32);
	static const char label[] = "EXPORTER-Channel-Binding";
	assert_int_equal(SSL_export_keying_material(p.client, want, 32, label, sizeof(label) - 1,
						    NULL, 0, 0), 1);
	assert_memory_equal(got, want, 32);
	/* a different label gives different bytes: the label is the RFC's */
	unsigned char other[32];
	assert_int_equal(SSL_export_keying_material(p.client, other, 32, "EXPORTER-Other", 14,
						    NULL, 0, 0), 1);
	assert_memory_not_equal(got, other, 32);
	/* the server certificate's SHA-256 (ECDSA with SHA-256) */
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-server-end-point", got,
						  sizeof(got), &len), 0);
	unsigned char cert_hash[EVP_MAX_MD_SIZE];
	assert_int_equal(len, client_end_point(&p, EVP_sha256(), cert_hash));
	assert_memory_equal(got, cert_hash, len);
	/* unknown types and a short buffer */
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-unique", got, sizeof(got), &len),
			 LOFT_EINVAL);
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-exporter", got, 16, &len),
			 LOFT_EINVAL);
	pair_close(&p);
	EVP_PKEY_free(key);
}

/* TLS 1.2: no tls-exporter (RFC 9266 is for TLS 1.3 here), end-point yes. */
static void test_tls12(void **state)
{
	(void)state;
	EVP_PKEY *key = ec_key();
	struct pair p;
	pair_open(&p, key, EVP_sha256(), TLS1_2_VERSION);
	pair_handshake(&p);
	assert_string_equal(tls_conn_version(p.server), "TLSv1.2");
	unsigned char got[TLS_CB_MAX_LEN], want[EVP_MAX_MD_SIZE];
	size_t len;
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-exporter", got, sizeof(got),
						  &len), LOFT_EINVAL);
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-server-end-point", got,
						  sizeof(got), &len), 0);
	assert_int_equal(len, client_end_point(&p, EVP_sha256(), want));
	assert_memory_equal(got, want, len);
	pair_close(&p);
	EVP_PKEY_free(key);
}

/* The hash follows the certificate's signature: SHA-384 and SHA-512 as
 * they are, SHA-1 becomes SHA-256 (RFC 5929 4.1). */
static void test_end_point_hashes(void **state)
{
	(void)state;
	EVP_PKEY *key = rsa_key();
	struct {
		const EVP_MD *sign, *want;
	} cases[] = {
		{ EVP_sha384(), EVP_sha384() },
		{ EVP_sha512(), EVP_sha512() },
		{ EVP_sha1(), EVP_sha256() },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pair p;
		pair_open(&p, key, cases[i].sign, TLS1_3_VERSION);
		/* OpenSSL 3 refuses SHA-1 certificates above security level 0. */
		SSL_set_security_level(p.client, 0);
		pair_handshake(&p);
		unsigned char got[TLS_CB_MAX_LEN], want[EVP_MAX_MD_SIZE];
		size_t len;
		assert_int_equal(tls_conn_channel_binding(p.server, "tls-server-end-point", got,
							  sizeof(got), &len), 0);
		assert_int_equal(len, client_end_point(&p, cases[i].want, want));
		assert_memory_equal(got, want, len);
		pair_close(&p);
	}
	EVP_PKEY_free(key);
}

/* Ed25519 signs without a separate hash: RFC 5929 defines no binding. */
static void test_end_point_ed25519(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(key);
	struct pair p;
	pair_open(&p, key, NULL, TLS1_3_VERSION);
	pair_handshake(&p);
	unsigned char got[TLS_CB_MAX_LEN];
	size_t len;
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-server-end-point", got,
						  sizeof(got), &len), LOFT_EINVAL);
	assert_int_equal(tls_conn_channel_binding(p.server, "tls-exporter", got, sizeof(got),
						  &len), 0);
	pair_close(&p);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exporter_tls13),
		cmocka_unit_test(test_tls12),
		cmocka_unit_test(test_end_point_hashes),
		cmocka_unit_test(test_end_point_ed25519),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
