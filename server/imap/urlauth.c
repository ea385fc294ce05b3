/* URLAUTH tokens and access (see urlauth.h), on OpenSSL's HMAC. */
#include "server/imap/urlauth.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void imap_urlauth_token(const unsigned char key[STORE_MAILBOX_KEY_LEN], const char *rump,
			size_t len, char out[IMAP_URLAUTH_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	HMAC(EVP_sha1(), key, STORE_MAILBOX_KEY_LEN, (const unsigned char *)rump, len, mac, &n);
	for (unsigned int i = 0; i < n && 2 * i < IMAP_URLAUTH_TOKEN_LEN; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[IMAP_URLAUTH_TOKEN_LEN] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

bool imap_urlauth_verify(const unsigned char key[STORE_MAILBOX_KEY_LEN], const char *rump,
			 size_t len, const char *token)
{
	char want[IMAP_URLAUTH_TOKEN_LEN + 1], got[IMAP_URLAUTH_TOKEN_LEN + 1];
	if (strlen(token) != IMAP_URLAUTH_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < IMAP_URLAUTH_TOKEN_LEN; i++)
		got[i] = (char)(token[i] >= 'A' && token[i] <= 'F' ? token[i] - 'A' + 'a' : token[i]);
	imap_urlauth_token(key, rump, len, want);
	bool ok = CRYPTO_memcmp(want, got, IMAP_URLAUTH_TOKEN_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

bool imap_urlauth_access_ok(const struct imap_url *url, const char *user,
			    const char *submit_user)
{
	switch (url->access) {
	case IMAP_URL_ACCESS_ANONYMOUS:
		return true;
	case IMAP_URL_ACCESS_AUTHUSER:
		return user != NULL;
	case IMAP_URL_ACCESS_USER:
		return user != NULL && url->access_user != NULL && strcmp(user, url->access_user) == 0;
	case IMAP_URL_ACCESS_SUBMIT:
		/* Only the submission server, on the named user's behalf. */
		return user != NULL && submit_user != NULL && submit_user[0] != '\0' &&
		       strcmp(user, submit_user) == 0 && url->access_user != NULL;
	case IMAP_URL_ACCESS_NONE:
		break;
	}
	return false;
}
