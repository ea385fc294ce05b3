/* Password checks on the hash pool (see passcheck.h). */
#include "server/engine/passcheck.h"

#include <string.h>

#include <openssl/crypto.h>

#include "auth/userdb.h"
#include "lib/xmem.h"
#include "server/services.h"

static void check_work(struct sess_job *job)
{
	struct sess_passcheck *pc = (struct sess_passcheck *)job;
	pc->result = userdb_verify(job->core->svc->users, pc->user, pc->password);
	OPENSSL_cleanse(pc->password, strlen(pc->password));
}

void sess_passcheck_start(struct sess_core *core, struct sess_passcheck *pc, char *user,
			  const char *password, size_t len, void (*done)(struct sess_job *job))
{
	pc->user = user;
	pc->password = xstrndup(password, len);
	pc->job.work = check_work;
	pc->job.done = done;
	sess_submit(core, core->svc->hash_pool, &pc->job);
}

void sess_passcheck_clear(struct sess_passcheck *pc)
{
	if (pc->password != NULL) {
		OPENSSL_cleanse(pc->password, strlen(pc->password));
		x_free(&pc->password);
	}
	x_free(&pc->user);
}
