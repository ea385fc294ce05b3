/* One resolver per loop thread, so its cache serves every session of the
 * worker: made on the first lookup a session asks for, kept in
 * thread-local storage, freed when the thread ends (a pthread key
 * destructor; the resolver holds no libuv handle while idle, so freeing it
 * after the loop has stopped is safe). A configuration change (SIGHUP)
 * makes a new resolver; the old one stays until its pending queries have
 * answered or timed out, then goes. */
#include "server/dns/dns.h"

#include <pthread.h>
#include <stdlib.h>

#include "lib/xmem.h"
#include "server/dns/dns-private.h"

struct loop_res {
	struct uv_loop_s *loop;
	struct dns_config cfg;
	struct dns_resolver *cur;
	struct dns_resolver **retired;
	size_t n_retired;
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void loop_res_free(void *p)
{
	struct loop_res *lr = p;
	if (lr == NULL)
		return;
	dns_resolver_free(&lr->cur);
	for (size_t i = 0; i < lr->n_retired; i++)
		dns_resolver_free(&lr->retired[i]);
	free(lr->retired);
	free(lr);
}

static void make_key(void)
{
	pthread_key_create(&key, loop_res_free);
}

static void sweep_retired(struct loop_res *lr)
{
	size_t k = 0;
	for (size_t i = 0; i < lr->n_retired; i++) {
		if (dns_resolver_idle(lr->retired[i]))
			dns_resolver_free(&lr->retired[i]);
		else
			lr->retired[k++] = lr->retired[i];
	}
	lr->n_retired = k;
}

struct dns_resolver *dns_loop_resolver(struct uv_loop_s *loop, const struct dns_config *cfg,
				       char **err_r)
{
	pthread_once(&once, make_key);
	struct loop_res *lr = pthread_getspecific(key);
	if (lr == NULL) {
		lr = xcalloc(1, sizeof(*lr));
		pthread_setspecific(key, lr);
	}
	sweep_retired(lr);
	if (lr->cur != NULL && lr->loop == loop && dns_config_same(&lr->cfg, cfg))
		return lr->cur;
	if (lr->cur != NULL) {
		if (dns_resolver_idle(lr->cur)) {
			dns_resolver_free(&lr->cur);
		} else {
			lr->retired = xrealloc(lr->retired,
					       (lr->n_retired + 1) * sizeof(*lr->retired));
			lr->retired[lr->n_retired++] = lr->cur;
			lr->cur = NULL;
		}
	}
	if (dns_resolver_new(loop, cfg, &lr->cur, err_r) != 0)
		return NULL;
	lr->loop = loop;
	lr->cfg = *cfg;
	return lr->cur;
}

void dns_loop_resolver_end(void)
{
	pthread_once(&once, make_key);
	struct loop_res *lr = pthread_getspecific(key);
	pthread_setspecific(key, NULL);
	loop_res_free(lr);
}
