/* Human-readable names of the store_error kinds, for logs and for front ends
 * that need a default text next to their protocol reply. */
#include "storage/store.h"

const char *store_strerror(int err)
{
	switch (err) {
	case STORE_OK: return "OK";
	case STORE_ENOTFOUND: return "not found";
	case STORE_EEXISTS: return "already exists";
	case STORE_EQUOTA: return "over quota";
	case STORE_EINVALID: return "invalid name or argument";
	case STORE_EIO: return "temporary storage failure";
	case STORE_ECORRUPT: return "index corrupt, rebuild needed";
	case STORE_EINUSE: return "in use";
	case STORE_ENOPERM: return "operation not permitted";
	case STORE_ETOOBIG: return "message too big";
	}
	return "unknown storage error";
}
