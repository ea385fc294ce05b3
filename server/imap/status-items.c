/* STATUS data items (see status-items.h). */
#include "server/imap/status-items.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "server/imap/parser.h"
#include "server/imap/reply.h"
#include "storage/store.h"

static const char *const names[IMAP_STATUS_N] = {
	"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "SIZE", "DELETED",
	"APPENDLIMIT", "DELETED-STORAGE", "MAILBOXID", "HIGHESTMODSEQ",
};

unsigned imap_status_store_items(const struct imap_status_req *req)
{
	return (req->recent ? STORE_STATUS_RECENT : 0) |
	       (req->deleted_storage ? STORE_STATUS_DELETED_SIZE : 0);
}

int imap_status_parse(const struct imap_arg *list, bool rev2, struct imap_status_req *req,
		      const char **why_r)
{
	req->n = 0;
	req->recent = false;
	req->deleted_storage = false;
	req->highestmodseq = false;
	if (list->type != IMAP_ARG_LIST || list->list_count == 0) {
		*why_r = "STATUS needs a list of data items.";
		return -1;
	}
	bool seen[IMAP_STATUS_N] = { false };
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		int item = -1;
		if (a->type == IMAP_ARG_ATOM)
			for (int k = 0; k < IMAP_STATUS_N; k++)
				if (strcasecmp(a->str, names[k]) == 0)
					item = k;
		if (item < 0 || (item == IMAP_STATUS_RECENT && rev2)) {
			*why_r = "Unknown STATUS data item.";
			return -1;
		}
		if (seen[item])
			continue;
		seen[item] = true;
		req->items[req->n++] = (uint8_t)item;
		if (item == IMAP_STATUS_RECENT)
			req->recent = true;
		if (item == IMAP_STATUS_DELETED_STORAGE)
			req->deleted_storage = true;
		if (item == IMAP_STATUS_HIGHESTMODSEQ)
			req->highestmodseq = true;
	}
	return 0;
}

void imap_status_write(struct imap_resp *r, const char *mailbox, const char *wire_name,
		       const struct imap_status_req *req, const struct store_status *st,
		       uint64_t appendlimit)
{
	imap_resp_raw(r, "* STATUS ");
	if (wire_name != NULL)
		imap_resp_astring(r, wire_name, strlen(wire_name));
	else
		imap_resp_mailbox(r, mailbox);
	imap_resp_raw(r, " (");
	for (size_t i = 0; i < req->n; i++) {
		if (i > 0)
			imap_resp_rawn(r, " ", 1);
		imap_resp_raw(r, names[req->items[i]]);
		switch ((enum imap_status_item)req->items[i]) {
		case IMAP_STATUS_MESSAGES: imap_resp_printf(r, " %" PRIu32, st->messages); break;
		case IMAP_STATUS_UIDNEXT: imap_resp_printf(r, " %" PRIu32, st->uidnext); break;
		case IMAP_STATUS_UIDVALIDITY:
			imap_resp_printf(r, " %" PRIu32, st->uidvalidity);
			break;
		case IMAP_STATUS_UNSEEN: imap_resp_printf(r, " %" PRIu32, st->unseen); break;
		case IMAP_STATUS_RECENT: imap_resp_printf(r, " %" PRIu32, st->recent); break;
		case IMAP_STATUS_SIZE: imap_resp_printf(r, " %" PRIu64, st->vsize); break;
		case IMAP_STATUS_DELETED: imap_resp_printf(r, " %" PRIu32, st->deleted); break;
		case IMAP_STATUS_APPENDLIMIT:
			if (appendlimit == 0)
				imap_resp_raw(r, " NIL");
			else
				imap_resp_printf(r, " %" PRIu64, appendlimit);
			break;
		case IMAP_STATUS_DELETED_STORAGE:
			/* In the STORAGE resource's units: 1024 octets, rounded up. */
			imap_resp_printf(r, " %" PRIu64, (st->deleted_size + 1023) / 1024);
			break;
		case IMAP_STATUS_MAILBOXID: imap_resp_printf(r, " (%s)", st->mailboxid); break;
		case IMAP_STATUS_HIGHESTMODSEQ:
			imap_resp_printf(r, " %" PRIu64, st->highestmodseq);
			break;
		case IMAP_STATUS_N: break;
		}
	}
	imap_resp_raw(r, ")\r\n");
}
