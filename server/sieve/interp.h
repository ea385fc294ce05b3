/* Private to the interpreter (interp.c, tests.c): one script's frame (its
 * local variables and the names it declared global) and the helpers both
 * files use: string expansion, CPU steps, match variables, temporary
 * strings that live until the current command ends. */
#ifndef LOFT_SIEVE_INTERP_H
#define LOFT_SIEVE_INTERP_H

#include "server/sieve/run.h"

struct sv_frame {
	struct sieve_script *s;
	struct sv_vars locals;
	char **globals;
	size_t n_globals;
	bool vars;               /* the script requires "variables" */
};

/* Count n CPU steps; false (and the run failed) past max_steps. */
bool sv_step(struct sv_run *run, uint64_t n);
/* Keep s until the current command ends; returns s. */
char *sv_tmp(struct sv_run *run, char *s);
/* The string strs[str] with variables expanded (if the script uses them):
 * valid until the current command ends. */
const char *sv_expand(struct sv_run *run, struct sv_frame *f, uint32_t str, size_t *len_r);
struct sv_var *sv_var_lookup(struct sv_run *run, struct sv_frame *f, const char *name,
			     size_t len, bool create);
void sv_var_set(struct sv_run *run, struct sv_var *v, const char *value, size_t len);
/* The next space-separated word of *p (advanced past it); false at the
 * end. */
bool sv_next_word(const char **p, const char **word_r, size_t *len_r);
/* Set the match variables from a successful :matches. */
void sv_set_caps(struct sv_run *run, const struct sv_caps *caps);

/* tests.c: evaluate test node ni; false also after a failure (check
 * run->error). */
bool sv_eval_test(struct sv_run *run, struct sv_frame *f, uint32_t ni);
/* actions.c: the commands that take actions or change flags (op of
 * sv_cmd_flags: 0 setflag, 1 addflag, 2 removeflag). */
void sv_cmd_keep(struct sv_run *run, struct sv_frame *f, const struct sv_node *n);
void sv_cmd_fileinto(struct sv_run *run, struct sv_frame *f, const struct sv_node *n);
void sv_cmd_redirect(struct sv_run *run, struct sv_frame *f, const struct sv_node *n);
void sv_cmd_reject(struct sv_run *run, struct sv_frame *f, const struct sv_node *n);
void sv_cmd_vacation(struct sv_run *run, struct sv_frame *f, const struct sv_node *n);
void sv_cmd_flags(struct sv_run *run, struct sv_frame *f, const struct sv_node *n, int op);

#endif
