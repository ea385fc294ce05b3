/* Sieve (RFC 5228) mail filtering: the one header of server/sieve/. A script
 * is compiled once (sieve_compile: lexer, parser, validation of every
 * command, test and extension, errors with line and column) into a compact,
 * immutable, position-independent form that any number of threads share,
 * and run against one message at delivery (sieve_deliver_plan), which
 * answers with the list of actions the delivery carries out.
 *
 * This unit sees no socket and no event loop: it reads scripts and marks
 * through storage/store.h and message data through storage/message/. The
 * mail it sends (redirect, vacation, a reject notice) goes out through the
 * outbox callback the server gives sieve_env_create (server/relay/).
 *
 * The delivery's calls, on a pool thread (they block: file reads, store
 * calls, the relay):
 *
 *   struct sieve_plan *plan;
 *   sieve_deliver_plan(env, &delivery, &plan);   // never fails: a broken or
 *                                                // failing script gives the
 *                                                // fallback plan "keep"
 *   for each plan->actions[i] of kind KEEP/FILEINTO: append the message
 *       (sieve_plan_header() replaces its header when editheader changed it)
 *       to action.mailbox with action.flags/keywords (create it first when
 *       action.create); a mailbox that does not exist without :create is
 *       delivered to INBOX instead (RFC 5228 2.10.6; logged).
 *   REJECT/EREJECT: refuse this recipient at the protocol level (LMTP/SMTP
 *       "550 5.7.1 <reason>"); `loft deliver` cannot, so it calls
 *       sieve_plan_finish with rejected=false and a notice is mailed.
 *   sieve_plan_finish(env, plan, stored_ok, refused);  // sends redirects,
 *       the vacation reply and a reject notice when the refusal could not be
 *       made in the protocol, and records the vacation and duplicate marks;
 *       only when stored_ok (a temporary failure means the MTA retries and
 *       the script runs again).
 *   sieve_plan_free(&plan);
 *
 * Ownership: every object returned here belongs to the caller and is freed
 * with its *_free / *_unref. Strings passed in are borrowed for the call. */
#ifndef LOFT_SIEVE_SIEVE_H
#define LOFT_SIEVE_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store_user;
struct msg_info;

enum sieve_error {
	SIEVE_OK = 0,
	SIEVE_ESYNTAX = -1,    /* the script does not compile (messages say why) */
	SIEVE_ELIMIT = -2,     /* a limit of struct sieve_limits was exceeded */
	SIEVE_ERUNTIME = -3,   /* a runtime error (RFC 5228 2.10.6): keep */
	SIEVE_ENOTFOUND = -4,  /* no such script */
	SIEVE_EIO = -5,        /* a script, mark or message could not be read */
};
const char *sieve_strerror(int err);

/* Every limit is a setting ([sieve] in conf/settings.c). */
struct sieve_limits {
	size_t max_script_size;       /* bytes of one script */
	unsigned max_scripts;         /* scripts per user (ManageSieve) */
	unsigned max_actions;         /* actions one run may take */
	unsigned max_redirects;       /* redirect actions per message */
	uint64_t max_steps;           /* CPU steps (commands, tests, comparisons) per run */
	unsigned max_nesting;         /* nested blocks and tests */
	unsigned max_include_depth;   /* nested include (RFC 6609) */
	size_t max_variable_size;     /* bytes of one variable's value (RFC 5229) */
	unsigned max_variables;       /* variables one script may set */
	size_t max_body_size;         /* decoded bytes of a part a body test reads */
	size_t max_header_size;       /* bytes of the message header read */
	uint32_t vacation_min_period; /* seconds: :days/:seconds below are raised */
	uint32_t vacation_max_period; /* seconds: ... above are lowered */
	uint32_t vacation_default_period; /* without :days/:seconds */
	uint32_t duplicate_default_period; /* duplicate without :seconds */
	uint32_t duplicate_max_period;
	unsigned max_marks;           /* vacation/duplicate marks kept per user */
};
/* Defaults matching the settings table. */
void sieve_limits_default(struct sieve_limits *lim_r);

/* The SIEVE capability (RFC 5804 1.7): the extensions this implementation
 * offers, space separated, in a static string. */
const char *sieve_capability(void);

/* ---- compiling ---- */

struct sieve_script;

/* Compile len bytes of UTF-8 script text. Returns 0 and the script, or
 * SIEVE_ESYNTAX / SIEVE_ELIMIT with *err_r (heap, caller frees): one
 * "line L, column C: what" per line, the first error first (at most a few).
 * name is kept for logs. */
int sieve_compile(const struct sieve_limits *lim, const char *name, const char *text,
		  size_t len, struct sieve_script **script_r, char **err_r);
void sieve_script_ref(struct sieve_script *script);
void sieve_script_unref(struct sieve_script **script);
/* Bytes the compiled form holds (nodes, arguments and strings). */
size_t sieve_script_memory(const struct sieve_script *script);
/* Names of the scripts it includes, for the include check of CHECKSCRIPT:
 * calls cb for every include whose name is a constant. */
void sieve_script_includes(const struct sieve_script *script,
			   void (*cb)(const char *name, bool global, bool optional, void *ctx),
			   void *ctx);

/* ---- running at delivery ---- */

/* What the mail the scripts send (redirect, vacation, reject notices) goes
 * through: send() hands one message to the relay and returns 0 or a
 * negative error (logged by the caller). mail_from "" is the null sender.
 * msg is the whole message (CRLF lines); when body_fd >= 0 the bytes
 * [body_offset, body_end) of that file follow it (a redirect of a large
 * message is never held in memory). */
struct sieve_outbox {
	int (*send)(void *ctx, const char *mail_from, const char *rcpt,
		    const char *msg, size_t msg_len, int body_fd, uint64_t body_offset,
		    uint64_t body_end);
	void *ctx;
};

struct sieve_settings {
	struct sieve_limits limits;
	const char *global_dir;       /* :global include scripts; NULL = none */
	const char *hostname;         /* Message-IDs, notices */
	const char *delimiter;        /* subaddress separators, e.g. "+" */
	unsigned cache_size;          /* compiled scripts kept */
	struct sieve_outbox outbox;   /* send == NULL: redirect/vacation fail */
};

struct sieve_env;
/* Strings in set are copied. */
struct sieve_env *sieve_env_create(const struct sieve_settings *set);
void sieve_env_free(struct sieve_env **env);
const struct sieve_limits *sieve_env_limits(const struct sieve_env *env);

/* The message and its envelope, borrowed for the call. */
struct sieve_delivery {
	struct store_user *user;      /* the recipient's store (scripts, marks,
				       * mailboxexists) */
	const char *user_address;     /* the recipient's own address
				       * (vacation From and :addresses) */
	const char *mail_from;        /* envelope sender, "" for <> */
	const char *rcpt_to;          /* envelope recipient (this one) */
	const char *orig_rcpt;        /* original recipient (ORCPT), or NULL */
	int fd;                       /* the message, read with pread */
	uint64_t size;
	const struct msg_info *info;  /* its structure, or NULL: parsed here */
	/* spamtest (RFC 3685): the verdict of a filter before delivery;
	 * spam_tested false = none ("0": not tested). */
	bool spam_tested;
	unsigned spam_score;          /* 1 (surely ham) .. 10 (surely spam) */
	unsigned spam_percent;        /* 0 .. 100 (:percent) */
	time_t now;                   /* 0 = time(NULL) */
	const char *script;           /* NULL: the user's active script; else
				       * this one of the user's (tests) */
	struct sieve_script *compiled;/* or this compiled script, borrowed
				       * (tests, benchmarks) */
};

enum sieve_action_kind {
	SIEVE_ACT_KEEP,      /* store in mailbox "INBOX" */
	SIEVE_ACT_FILEINTO,  /* store in mailbox */
	SIEVE_ACT_REDIRECT,  /* send to address (done by sieve_plan_finish) */
	SIEVE_ACT_REJECT,    /* refuse with text (RFC 5429 reject) */
	SIEVE_ACT_EREJECT,   /* refuse with text (ereject: protocol level) */
	SIEVE_ACT_VACATION,  /* reply to address (done by sieve_plan_finish) */
	SIEVE_ACT_DISCARD,   /* the message was discarded (nothing to do) */
};
const char *sieve_action_name(enum sieve_action_kind kind);

struct sieve_action {
	enum sieve_action_kind kind;
	char *mailbox;          /* KEEP ("INBOX") and FILEINTO: UTF-8, '/' separated */
	bool create;            /* FILEINTO :create (RFC 5490) */
	uint32_t flags;         /* STORE_FLAG_* (imap4flags) */
	char **keywords;        /* other flags (keywords) */
	size_t n_keywords;
	char *address;          /* REDIRECT target; VACATION recipient */
	char *text;             /* REJECT/EREJECT reason; VACATION the reply */
	bool copy;              /* :copy (RFC 3894): informational */
};

struct sieve_plan_state;
struct sieve_plan {
	struct sieve_action *actions;
	size_t n_actions;
	bool implicit_keep;     /* the keep came from the implicit keep */
	bool script_ran;        /* a script existed and ran */
	/* A compile or runtime error: the actions are the fallback keep and
	 * error says what failed (it is logged by the plan, and again by the
	 * delivery if it likes). */
	char *error;
	/* editheader: the new header block (CRLF lines and the blank line)
	 * that replaces bytes [0, body_offset) of the message; NULL when the
	 * header is unchanged. */
	char *header;
	size_t header_len;
	uint64_t body_offset;
	struct sieve_plan_state *state;   /* internal: marks, outgoing mail */
};

/* Run the user's active script (or d->script) for one delivery. Always
 * returns a plan (*plan_r); the return value is 0, or the error that made
 * the plan the fallback keep (SIEVE_ESYNTAX, SIEVE_ERUNTIME, SIEVE_ELIMIT,
 * SIEVE_EIO). No script: 0 and a plan with the implicit keep. May block. */
int sieve_deliver_plan(struct sieve_env *env, const struct sieve_delivery *d,
		       struct sieve_plan **plan_r);
/* The header of the message as the plan stores it: editheader's block, or
 * NULL when the original is unchanged. */
static inline const char *sieve_plan_header(const struct sieve_plan *plan, size_t *len_r,
					     uint64_t *body_offset_r)
{
	*len_r = plan->header_len;
	*body_offset_r = plan->body_offset;
	return plan->header;
}
/* After the delivery stored (or failed to store) the message: with
 * stored_ok, send the redirects and the vacation reply through the
 * outbox, send a reject notice for each REJECT/EREJECT the delivery could
 * not refuse in its protocol (refused false), and record the vacation and
 * duplicate marks. Returns how many outgoing messages failed (logged).
 * d must be the same delivery the plan was made for. May block. */
int sieve_plan_finish(struct sieve_env *env, const struct sieve_delivery *d,
		      struct sieve_plan *plan, bool stored_ok, bool refused);
void sieve_plan_free(struct sieve_plan **plan);

/* Compile a user's stored script by name as ManageSieve CHECKSCRIPT and
 * PUTSCRIPT do (limits of env). */
int sieve_check(const struct sieve_env *env, const char *text, size_t len, char **err_r);

#endif
