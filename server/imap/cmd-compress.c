/* COMPRESS (RFC 4978): turn on DEFLATE for the rest of the connection. The
 * tagged OK goes out uncompressed; from the byte after it the server
 * compresses, and from the byte after the command's CRLF the client does
 * (server/net/conn-compress.c does both, above TLS). A second COMPRESS is
 * refused with NO [COMPRESSIONACTIVE]; STARTTLS can no longer follow. */
#include "server/imap/commands.h"

#include "server/imap/reply.h"

enum imap_cmd_result imap_cmd_compress(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->n_args != 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL, "COMPRESS needs a mechanism name.");
		return IMAP_CMD_DONE;
	}
	if (!imap_arg_is_atom(&cmd->args[0], "DEFLATE")) {
		imap_reply_tagged(s, cmd->tag, "BAD", NULL,
				  "Unknown compression mechanism (DEFLATE is offered).");
		return IMAP_CMD_DONE;
	}
	if (conn_is_compressed(s->conn)) {
		imap_reply_tagged(s, cmd->tag, "NO", "COMPRESSIONACTIVE",
				  "DEFLATE is active already.");
		return IMAP_CMD_DONE;
	}
	const struct loft_config *cfg = conn_config(s->conn);
	struct compress_settings set = {
		.level = (int)cfg->imap_compress_level,
		.window_bits = (int)cfg->imap_compress_window_bits,
		.mem_level = (int)cfg->imap_compress_mem_level,
	};
	imap_reply_tagged(s, cmd->tag, "OK", NULL, "DEFLATE active.");
	if (conn_compress_start(s->conn, &set) < 0) {
		/* The client compresses after our OK: nothing else can be read. */
		conn_close(s->conn, "compression failed to start");
	}
	return IMAP_CMD_DONE;
}
