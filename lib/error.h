/* Loft's generic return codes. Functions return 0 on success or a negative
 * LOFT_E* value; modules with richer failures (storage, auth) define their own
 * enums and front ends map those to protocol replies in one place. */
#ifndef LOFT_LIB_ERROR_H
#define LOFT_LIB_ERROR_H

enum loft_error {
	LOFT_OK = 0,
	LOFT_EAGAIN = -1,   /* not finished: call again when more input/room */
	LOFT_ENOMEM = -2,
	LOFT_EINVAL = -3,   /* bad argument or malformed input */
	LOFT_EIO = -4,      /* system call failed; errno-style detail logged */
	LOFT_ELIMIT = -5,   /* a configured limit was exceeded */
	LOFT_EPROTO = -6,   /* protocol violation by the peer */
	LOFT_ECLOSED = -7,  /* the other side or object is gone */
	LOFT_ENOENT = -8,
	LOFT_EEXIST = -9,
};

/* Short constant name for logs ("EIO"). */
const char *loft_strerror(int err);

#endif
