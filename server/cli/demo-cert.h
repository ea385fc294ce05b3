/* Self-signed certificate generation for `loft demo`: an EC P-256 key and an
 * X.509 v3 server certificate for localhost, made with the OpenSSL 3 API (no
 * external openssl command). Not for production: real deployments bring a
 * certificate from a CA. */
#ifndef LOFT_SERVER_DEMO_CERT_H
#define LOFT_SERVER_DEMO_CERT_H

/* Validity of a demo certificate. */
#define DEMO_CERT_DAYS 730

/* Create key_path (PEM PKCS#8, mode 0600) and cert_path (PEM, mode 0644):
 * subject and issuer CN=<common_name>, subjectAltName DNS:<common_name> and
 * IP:127.0.0.1 and IP:::1, CA:FALSE, serverAuth, valid from one hour ago
 * for `days` days, random 128-bit serial. Each file is written to a
 * temporary name, fsynced and renamed into place, so a crash leaves either
 * the old file or the complete new one. Returns 0, or LOFT_EIO with a heap
 * message in *err_r (caller frees). */
int demo_cert_create(const char *cert_path, const char *key_path,
		     const char *common_name, unsigned days, char **err_r);

#endif
