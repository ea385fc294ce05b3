/* What kind of thread is running: an event loop (which must never block), a
 * work-pool thread, or anything else (main thread, CLI tools, tests). Loops
 * and pools declare themselves once at thread start; blocking entry points
 * (store calls, password hashing) call thread_assert_may_block(), which
 * aborts with a clear message on a loop thread when LOFT_THREAD_CHECKS is
 * compiled in (every build type but Release). The check costs one
 * thread-local read. */
#ifndef LOFT_LIB_THREAD_ROLE_H
#define LOFT_LIB_THREAD_ROLE_H

enum thread_role {
	THREAD_ROLE_OTHER = 0,   /* main thread, tools, tests: may block */
	THREAD_ROLE_LOOP,        /* a libuv event loop: must never block */
	THREAD_ROLE_POOL,        /* a work-pool thread: blocking is its job */
};

void thread_role_set(enum thread_role role);
enum thread_role thread_role_get(void);
const char *thread_role_name(enum thread_role role);

/* Abort (with what in the message) if called on an event-loop thread. */
void thread_block_violation(const char *what) __attribute__((noreturn));

#ifdef LOFT_THREAD_CHECKS
#define thread_assert_may_block(what) do { \
	if (thread_role_get() == THREAD_ROLE_LOOP) \
		thread_block_violation(what); } while (0)
#else
#define thread_assert_may_block(what) ((void)0)
#endif

#endif
