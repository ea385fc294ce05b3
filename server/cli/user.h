/* Internal to the `loft user` subcommand (user.c, user-show.c): the parsed
 * command and the helpers both files use. */
#ifndef LOFT_CLI_USER_H
#define LOFT_CLI_USER_H

#include <stdio.h>

#include "auth/auth.h"
#include "conf/config.h"

struct user_cmd {
	struct loft_config *cfg;
	const char *name;       /* NAME, or NULL */
	const char *password;   /* --password, or NULL */
	const char *sub;        /* app-password: add|list|revoke */
	const char *device;     /* app-password: DEVICE */
};

void cli_user_usage(FILE *out);
/* An auth for one-shot checks: never writes login state or the secret. */
int cli_user_auth(const struct user_cmd *c, struct auth **auth_r);
void cli_free_secret(char **s);

int cli_user_show(const struct user_cmd *c);          /* user-show.c */
int cli_user_app_password(const struct user_cmd *c);  /* user-show.c */

#endif
