/* OpenSSL glue: server SSL_CTX construction (with SNI certificate selection)
 * and the per-connection TLS layer. The layer's BIO reads ciphertext from a
 * borrowed slice handed over by the connection and writes ciphertext through
 * a callback into the connection's write queue, so an idle TLS connection
 * holds no socket-side buffers here (OpenSSL's own are released with
 * SSL_MODE_RELEASE_BUFFERS) and about 13 KB inside OpenSSL (bench/bench-tls
 * measures it). The BIO method table is created once per process and never
 * changes afterwards. */
#include "server/net/tls.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/error.h"
#include "lib/spill.h"
#include "lib/xmem.h"

struct tls_conn {
	SSL *ssl;
	tls_output_fn *out;
	void *out_arg;
	struct spill_buf in; /* ciphertext: borrowed between feed and feed_end */
};

/* The reason of the last failure on this thread (see tls_conn_error): kept
 * out of struct tls_conn, which every idle TLS connection holds. */
static _Thread_local char tls_err[160];

/* ---- SNI table, attached to the default context as ex_data ---- */

struct tls_sni {
	size_t n;
	char **names;
	SSL_CTX **ctxs;
};

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *tls_bio_method;
static int tls_sni_index = -1;

static void sni_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
		     long argl, void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	struct tls_sni *sni = ptr;
	if (sni == NULL)
		return;
	for (size_t i = 0; i < sni->n; i++) {
		free(sni->names[i]);
		SSL_CTX_free(sni->ctxs[i]);
	}
	free(sni->names);
	free(sni->ctxs);
	free(sni);
}

/* ---- the BIO ---- */

static int bio_write_ex(BIO *bio, const char *data, size_t len, size_t *written)
{
	struct tls_conn *t = BIO_get_data(bio);
	BIO_clear_retry_flags(bio);
	t->out(t->out_arg, data, len);
	*written = len;
	return 1;
}

static int bio_read_ex(BIO *bio, char *buf, size_t size, size_t *readbytes)
{
	struct tls_conn *t = BIO_get_data(bio);
	BIO_clear_retry_flags(bio);
	const char *src;
	size_t n = spill_peek(&t->in, &src);
	if (n > size)
		n = size;
	if (n > 0) {
		memcpy(buf, src, n);
		spill_consume(&t->in, n);
	}
	if (n == 0) {
		BIO_set_retry_read(bio);
		*readbytes = 0;
		return 0;
	}
	*readbytes = n;
	return 1;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio; (void)num; (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static int bio_destroy(BIO *bio)
{
	(void)bio;
	return 1;
}

static void tls_init_once(void)
{
	tls_bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				      "loft-conn");
	BIO_meth_set_write_ex(tls_bio_method, bio_write_ex);
	BIO_meth_set_read_ex(tls_bio_method, bio_read_ex);
	BIO_meth_set_ctrl(tls_bio_method, bio_ctrl);
	BIO_meth_set_create(tls_bio_method, bio_create);
	BIO_meth_set_destroy(tls_bio_method, bio_destroy);
	tls_sni_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sni_free);
}

/* ---- contexts ---- */

static char *ssl_errors(const char *what, const char *file)
{
	char buf[256] = "";
	unsigned long e = ERR_peek_last_error();
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return xasprintf("%s%s%s: %s", what, file ? " " : "", file ? file : "",
			 buf[0] ? buf : "unknown error");
}

static SSL_CTX *ctx_new(const struct loft_config *cfg, const char *cert,
			const char *key, char **err_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*err_r = ssl_errors("cannot create TLS context", NULL);
		return NULL;
	}
	int minv = cfg->tls_min_version >= TLS1_2_VERSION ? cfg->tls_min_version
							  : TLS1_2_VERSION;
	SSL_CTX_set_min_proto_version(ctx, minv);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	/* OpenSSL sends two TLS 1.3 tickets by default: each costs a session
	 * copy, its encryption and MAC, and the second also keeps about 6 KB
	 * per connection alive. One is enough for a client's next connect. */
	SSL_CTX_set_num_tickets(ctx, cfg->tls_session_tickets);
	if (cfg->tls_session_tickets == 0)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"loft", 4);
	if (cfg->tls_ciphers != NULL && cfg->tls_ciphers[0] != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
		*err_r = ssl_errors("invalid tls ciphers", cfg->tls_ciphers);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cfg->tls_ciphersuites != NULL && cfg->tls_ciphersuites[0] != '\0' &&
	    SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
		*err_r = ssl_errors("invalid tls ciphersuites", cfg->tls_ciphersuites);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*err_r = ssl_errors("cannot load certificate", cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		*err_r = ssl_errors("cannot load private key", key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*err_r = ssl_errors("private key does not match certificate", key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static bool sni_match(const char *pattern, const char *name)
{
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(name, '.');
		return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return strcasecmp(pattern, name) == 0;
}

static int sni_callback(SSL *ssl, int *alert, void *arg)
{
	(void)alert;
	const struct tls_sni *sni = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL || sni == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (size_t i = 0; i < sni->n; i++) {
		if (sni_match(sni->names[i], name)) {
			SSL_set_SSL_CTX(ssl, sni->ctxs[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *tls_ctx_create(const struct loft_config *cfg, char **err_r)
{
	pthread_once(&tls_once, tls_init_once);
	*err_r = NULL;
	if (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL) {
		*err_r = xstrdup("TLS is used by a listener but [tls] cert_file/key_file are not set");
		return NULL;
	}
	SSL_CTX *ctx = ctx_new(cfg, cfg->tls_cert_file, cfg->tls_key_file, err_r);
	if (ctx == NULL)
		return NULL;
	if (cfg->n_sni_certs == 0)
		return ctx;

	struct tls_sni *sni = xcalloc(1, sizeof(*sni));
	sni->names = xcalloc(cfg->n_sni_certs, sizeof(char *));
	sni->ctxs = xcalloc(cfg->n_sni_certs, sizeof(SSL_CTX *));
	SSL_CTX_set_ex_data(ctx, tls_sni_index, sni);
	for (size_t i = 0; i < cfg->n_sni_certs; i++) {
		const struct conf_sni_cert *sc = &cfg->sni_certs[i];
		SSL_CTX *child = ctx_new(cfg, sc->cert_file, sc->key_file, err_r);
		if (child == NULL) {
			char *e = xasprintf("[certificate %s]: %s", sc->name, *err_r);
			free(*err_r);
			*err_r = e;
			SSL_CTX_free(ctx);
			return NULL;
		}
		sni->names[sni->n] = xstrdup(sc->server_name ? sc->server_name : sc->name);
		sni->ctxs[sni->n++] = child;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_callback);
	SSL_CTX_set_tlsext_servername_arg(ctx, sni);
	return ctx;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* ---- connections ---- */

struct tls_conn *tls_conn_new(SSL_CTX *ctx, tls_output_fn *out, void *arg)
{
	pthread_once(&tls_once, tls_init_once);
	struct tls_conn *t = xcalloc(1, sizeof(*t));
	t->out = out;
	t->out_arg = arg;
	t->ssl = SSL_new(ctx);
	if (t->ssl == NULL) {
		free(t);
		return NULL;
	}
	BIO *bio = BIO_new(tls_bio_method);
	BIO_set_data(bio, t);
	SSL_set_bio(t->ssl, bio, bio);
	SSL_set_accept_state(t->ssl);
	return t;
}

void tls_conn_free(struct tls_conn **tlsp)
{
	struct tls_conn *t = *tlsp;
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	spill_free(&t->in);
	free(t);
	*tlsp = NULL;
}

void tls_conn_feed(struct tls_conn *t, const char *data, size_t len)
{
	spill_feed(&t->in, data, len);
}

void tls_conn_feed_end(struct tls_conn *t)
{
	spill_end(&t->in);
}

static void record_error(const char *what)
{
	unsigned long e = ERR_get_error();
	if (e != 0) {
		char buf[128];
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(tls_err, sizeof(tls_err), "%s: %s", what, buf);
	} else {
		snprintf(tls_err, sizeof(tls_err), "%s", what);
	}
	ERR_clear_error();
}

long tls_conn_read(struct tls_conn *t, char *buf, size_t cap)
{
	ERR_clear_error();
	int want = cap > 0x40000000 ? 0x40000000 : (int)cap;
	int n = SSL_read(t->ssl, buf, want);
	if (n > 0)
		return n;
	switch (SSL_get_error(t->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return LOFT_EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return LOFT_ECLOSED;
	default:
		record_error(SSL_is_init_finished(t->ssl) ? "tls read failed"
							  : "tls handshake failed");
		return LOFT_EPROTO;
	}
}

bool tls_conn_has_pending(const struct tls_conn *t)
{
	return SSL_pending(t->ssl) > 0 || spill_pending(&t->in);
}

int tls_conn_write(struct tls_conn *t, const char *data, size_t len)
{
	while (len > 0) {
		ERR_clear_error();
		int chunk = len > 16384 ? 16384 : (int)len;
		int n = SSL_write(t->ssl, data, chunk);
		if (n <= 0) {
			record_error("tls write failed");
			return LOFT_EPROTO;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

void tls_conn_shutdown(struct tls_conn *t)
{
	if (SSL_is_init_finished(t->ssl)) {
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
}

bool tls_conn_handshake_done(const struct tls_conn *t)
{
	return SSL_is_init_finished(t->ssl);
}

const char *tls_conn_version(const struct tls_conn *t)
{
	return SSL_get_version(t->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *t)
{
	return SSL_get_cipher_name(t->ssl);
}

const char *tls_conn_server_name(const struct tls_conn *t)
{
	return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

bool tls_conn_resumed(const struct tls_conn *t)
{
	return SSL_session_reused(t->ssl) == 1;
}

static int cb_exporter(const struct tls_conn *t, unsigned char *out, size_t cap,
		       size_t *len_r)
{
	static const char label[] = "EXPORTER-Channel-Binding";
	if (SSL_version(t->ssl) < TLS1_3_VERSION || cap < 32)
		return LOFT_EINVAL;
	if (SSL_export_keying_material(t->ssl, out, 32, label, sizeof(label) - 1, NULL, 0,
				       0) != 1) {
		ERR_clear_error();
		return LOFT_EINVAL;
	}
	*len_r = 32;
	return 0;
}

static int cb_server_end_point(const struct tls_conn *t, unsigned char *out, size_t cap,
			       size_t *len_r)
{
	X509 *cert = SSL_get_certificate(t->ssl);
	int md_nid = NID_undef;
	if (cert == NULL || X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL) != 1 ||
	    md_nid == NID_undef)
		return LOFT_EINVAL;
	if (md_nid == NID_md5 || md_nid == NID_sha1)
		md_nid = NID_sha256;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (md == NULL || X509_digest(cert, md, buf, &n) != 1 || n > cap) {
		ERR_clear_error();
		return LOFT_EINVAL;
	}
	memcpy(out, buf, n);
	*len_r = n;
	return 0;
}

int tls_conn_channel_binding(const struct tls_conn *t, const char *type, unsigned char *out,
			     size_t cap, size_t *len_r)
{
	*len_r = 0;
	if (!SSL_is_init_finished(t->ssl))
		return LOFT_EINVAL;
	if (strcmp(type, "tls-exporter") == 0)
		return cb_exporter(t, out, cap, len_r);
	if (strcmp(type, "tls-server-end-point") == 0)
		return cb_server_end_point(t, out, cap, len_r);
	return LOFT_EINVAL;
}

const char *tls_conn_error(const struct tls_conn *t)
{
	(void)t;
	return tls_err[0] ? tls_err : "tls error";
}
