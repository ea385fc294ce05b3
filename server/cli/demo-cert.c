/* Makes the demo's self-signed localhost certificate with OpenSSL 3 calls:
 * EVP_PKEY_Q_keygen for the P-256 key, an X509 built field by field with
 * v3 extensions, and PEM files written atomically (tmp, fsync, rename). */
#include "server/cli/demo-cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/error.h"
#include "lib/xmem.h"

static char *ssl_error(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	if (e == 0)
		return xasprintf("%s failed", what);
	ERR_error_string_n(e, buf, sizeof(buf));
	return xasprintf("%s failed: %s", what, buf);
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return LOFT_EIO;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static X509 *build_cert(EVP_PKEY *key, const char *cn, unsigned days, char **err_r)
{
	X509 *cert = X509_new();
	BIGNUM *serial = BN_new();
	X509_NAME *name = NULL;
	char *san = xasprintf("DNS:%s,IP:127.0.0.1,IP:::1", cn);
	const char *step = "X509_new";
	if (cert == NULL || serial == NULL)
		goto fail;
	step = "serial";
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL)
		goto fail;
	step = "validity";
	/* Start an hour back so a client whose clock is a little behind
	 * still accepts it. */
	if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL)
		goto fail;
	step = "subject";
	name = X509_NAME_new();
	if (name == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(cert, name) != 1 || X509_set_issuer_name(cert, name) != 1 ||
	    X509_set_pubkey(cert, key) != 1)
		goto fail;
	step = "extensions";
	/* A leaf, not a CA: NSS (Thunderbird) refuses a CA certificate used
	 * as a server certificate. */
	if (add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(cert, NID_subject_alt_name, san) < 0 ||
	    add_ext(cert, NID_subject_key_identifier, "hash") < 0)
		goto fail;
	step = "signing";
	if (X509_sign(cert, key, EVP_sha256()) <= 0)
		goto fail;
	X509_NAME_free(name);
	BN_free(serial);
	free(san);
	return cert;
fail:
	*err_r = ssl_error(step);
	X509_NAME_free(name);
	BN_free(serial);
	X509_free(cert);
	free(san);
	return NULL;
}

/* Write via a temporary file: the PEM writer gets a FILE* on a file opened
 * with the final mode, then fsync and rename. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
		     char **err_r)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int ret = -1;
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		*err_r = xasprintf("%s: %s", tmp, strerror(errno));
		free(tmp);
		return LOFT_EIO;
	}
	FILE *fp = fdopen(fd, "w");
	if (fp == NULL) {
		*err_r = xasprintf("%s: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	int ok = key != NULL ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL)
			     : PEM_write_X509(fp, cert);
	if (ok != 1) {
		*err_r = ssl_error(path);
		fclose(fp);
		goto out;
	}
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		*err_r = xasprintf("%s: %s", tmp, strerror(errno));
		fclose(fp);
		goto out;
	}
	if (fclose(fp) != 0 || rename(tmp, path) != 0) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	return ret;
}

int demo_cert_create(const char *cert_path, const char *key_path,
		     const char *common_name, unsigned days, char **err_r)
{
	*err_r = NULL;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL) {
		*err_r = ssl_error("P-256 key generation");
		return LOFT_EIO;
	}
	X509 *cert = build_cert(key, common_name, days, err_r);
	int ret = -1;
	if (cert != NULL && write_pem(key_path, 0600, key, NULL, err_r) == 0 &&
	    write_pem(cert_path, 0644, NULL, cert, err_r) == 0)
		ret = 0;
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}
