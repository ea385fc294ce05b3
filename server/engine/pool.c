/* Work pool threads (see pool.h): one mutex-guarded FIFO per pool, threads
 * sleeping on a condition variable. Threads mark themselves as pool threads
 * so blocking calls made from them pass the loop-thread check. */
#include "server/engine/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/thread-role.h"
#include "lib/xmem.h"

/* Pool threads run storage and hashing code, nothing recursive or with big
 * stack buffers; 512 KiB keeps 64+ threads cheap in address space. */
#define POOL_STACK_SIZE (512u * 1024u)

struct work_pool {
	char name[16];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct work_item *head, *tail;
	bool stopping;
	pthread_t *threads;
	unsigned n_threads;
	struct work_pool_stats st;
};

static void *pool_thread(void *arg)
{
	struct work_pool *p = arg;
	thread_role_set(THREAD_ROLE_POOL);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		struct work_item *it = p->head;
		if (it == NULL)
			break; /* stopping and drained */
		p->head = it->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->st.queued--;
		p->st.busy++;
		pthread_mutex_unlock(&p->lock);
		it->next = NULL;
		it->run(it);
		pthread_mutex_lock(&p->lock);
		p->st.busy--;
		p->st.completed++;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct work_pool *work_pool_create(const char *name, unsigned n_threads)
{
	struct work_pool *p = xcalloc(1, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (n_threads == 0)
		n_threads = 1;
	p->threads = xcalloc(n_threads, sizeof(*p->threads));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, POOL_STACK_SIZE);
	for (unsigned i = 0; i < n_threads; i++) {
		int r = pthread_create(&p->threads[p->n_threads], &attr, pool_thread, p);
		if (r != 0) {
			log_warn("pool=%s: started %u of %u threads: %s", p->name, p->n_threads,
				 n_threads, strerror(r));
			break;
		}
		char tname[32];
		snprintf(tname, sizeof(tname), "%.8s-%u", p->name, i % 10000);
		tname[15] = '\0'; /* the kernel's limit */
		pthread_setname_np(p->threads[p->n_threads], tname);
		p->n_threads++;
	}
	pthread_attr_destroy(&attr);
	p->st.threads = p->n_threads;
	if (p->n_threads == 0) {
		work_pool_destroy(&p);
		return NULL;
	}
	return p;
}

void work_pool_submit(struct work_pool *p, struct work_item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail != NULL)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
	p->st.submitted++;
	if (++p->st.queued > p->st.max_queued)
		p->st.max_queued = p->st.queued;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void work_pool_destroy(struct work_pool **pp)
{
	struct work_pool *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	/* A pool that never had a thread still owes its items a run. */
	for (struct work_item *it = p->head, *next; it != NULL; it = next) {
		next = it->next;
		it->run(it);
	}
	free(p->threads);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void work_pool_stats(struct work_pool *p, struct work_pool_stats *st_r)
{
	pthread_mutex_lock(&p->lock);
	*st_r = p->st;
	pthread_mutex_unlock(&p->lock);
}

const char *work_pool_name(const struct work_pool *p)
{
	return p->name;
}
