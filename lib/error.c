/* Names for the generic LOFT_E* codes, for log lines. */
#include "lib/error.h"

const char *loft_strerror(int err)
{
	switch (err) {
	case LOFT_OK: return "OK";
	case LOFT_EAGAIN: return "EAGAIN";
	case LOFT_ENOMEM: return "ENOMEM";
	case LOFT_EINVAL: return "EINVAL";
	case LOFT_EIO: return "EIO";
	case LOFT_ELIMIT: return "ELIMIT";
	case LOFT_EPROTO: return "EPROTO";
	case LOFT_ECLOSED: return "ECLOSED";
	case LOFT_ENOENT: return "ENOENT";
	case LOFT_EEXIST: return "EEXIST";
	}
	return "EUNKNOWN";
}
