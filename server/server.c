/* The server's top-level context: loads and checks the configuration, owns
 * the current snapshot, the log file, the network server and the main loop
 * that handles signals (SIGTERM/SIGINT stop, SIGHUP reload). All of it lives
 * in one struct on server_main()'s stack; nothing here is global. */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "conf/config.h"
#include "server/fd-budget.h"
#include "server/imap/client-rules.h"
#include "server/imap/imap.h"
#include "server/lmtp/lmtp.h"
#include "server/managesieve/managesieve.h"
#include "server/net/loop.h"
#include "server/net/snapshot.h"
#include "server/pop3/pop3.h"
#include "server/services.h"
#include "server/spam/stats.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmem.h"

struct server_ctx {
	const char *config_path;
	uv_loop_t loop;
	uv_signal_t sig_term, sig_int, sig_hup;
	struct net_server *net;
	struct net_snapshot *snap;
	struct loft_services *svc;  /* store, users, pools (from the first config) */
	int log_fd;              /* our own log file descriptor, -1: stderr */
	bool stopping;
};

static const net_proto_table server_protos = {
	[CONF_PROTO_IMAP] = &imap_conn_proto,
	[CONF_PROTO_POP3] = &pop3_conn_proto,
	[CONF_PROTO_LMTP] = &lmtp_conn_proto,
	[CONF_PROTO_SMTP] = &smtp_conn_proto,
	[CONF_PROTO_SIEVE] = &managesieve_conn_proto,
};

/* Point the log at cfg's log_file. The descriptor number stays the same
 * across reloads (dup2), so other threads never write to a closed fd. */
static int apply_log(struct server_ctx *s, const struct loft_config *cfg, char **err_r)
{
	const char *file = cfg->log_file;
	int fd;
	if (file == NULL || file[0] == '\0' || strcmp(file, "stderr") == 0) {
		fd = dup(2);
	} else {
		fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			*err_r = xasprintf("cannot open log_file %s: %s", file, strerror(errno));
			return LOFT_EIO;
		}
	}
	if (fd < 0) {
		*err_r = xasprintf("cannot duplicate stderr: %s", strerror(errno));
		return LOFT_EIO;
	}
	if (s->log_fd < 0) {
		s->log_fd = fd;
		log_set_fd(fd);
		/* From here on a stalled log output never stalls a worker. */
		if (log_async_start() < 0)
			log_warn("log: no writer thread; logging synchronously");
	} else {
		dup2(fd, s->log_fd);
		close(fd);
	}
	log_set_level((enum log_level)cfg->log_level);
	return 0;
}

/* Once stopping, the signal handles stop keeping the main loop alive but
 * stay installed until the workers have drained: closing one would restore
 * the default action, and a SIGHUP (log rotation) or a second SIGTERM
 * during the drain would kill the process. */
static void release_signals(struct server_ctx *s)
{
	uv_unref((uv_handle_t *)&s->sig_term);
	uv_unref((uv_handle_t *)&s->sig_int);
	uv_unref((uv_handle_t *)&s->sig_hup);
}

/* After the drain: ignore these signals from now on, then close the handles
 * (libuv puts back the default action when the last handle of a signal
 * closes, so the ignore is set again after each close). */
static void close_signals(struct server_ctx *s)
{
	uv_signal_t *h[] = { &s->sig_term, &s->sig_int, &s->sig_hup };
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		int signum = h[i]->signum;
		uv_close((uv_handle_t *)h[i], NULL);
		signal(signum, SIG_IGN);
	}
	uv_run(&s->loop, UV_RUN_DEFAULT);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
	struct server_ctx *s = h->data;
	if (s->stopping)
		return;
	s->stopping = true;
	log_info("received %s: stopping (shutdown_timeout=%ums)", strsignal(signum),
		 s->snap->cfg->shutdown_timeout_ms);
	net_server_stop(s->net);
	release_signals(s);
}

/* A rejected reload logs each error on its own line. */
static void reload_rejected(char *err)
{
	for (char *p = err, *nl; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		log_error("reload rejected: %.*s; keeping the running configuration",
			  (int)(nl != NULL ? nl - p : (ptrdiff_t)strlen(p)), p);
	}
	free(err);
}

static void reload(struct server_ctx *s)
{
	struct loft_config *cfg;
	char *err = NULL;
	log_info("reload: reading %s", s->config_path);
	if (conf_load(s->config_path, &cfg, &err) < 0) {
		reload_rejected(err);
		return;
	}
	if (conf_check_files(cfg, &err) < 0 || conf_check_reload(s->snap->cfg, cfg, &err) < 0 ||
	    imap_client_rules_check(cfg, &err) < 0) {
		reload_rejected(err);
		conf_free(cfg);
		return;
	}
	struct net_snapshot *snap = net_snapshot_create(cfg, &err);
	if (snap == NULL) {
		reload_rejected(err);
		return;
	}
	if (apply_log(s, snap->cfg, &err) < 0) {
		reload_rejected(err);
		net_snapshot_unref(&snap);
		return;
	}
	net_server_reload(s->net, snap);
	services_reload(s->svc, snap->cfg);
	net_snapshot_unref(&s->snap);
	s->snap = snap;
	log_info("reload: configuration applied (log_level=%s); new connections use it",
		 log_level_name(log_get_level()));
}

static void on_hup(uv_signal_t *h, int signum)
{
	(void)signum;
	struct server_ctx *s = h->data;
	if (!s->stopping)
		reload(s);
}

static int load(const char *path, struct net_snapshot **snap_r)
{
	struct loft_config *cfg;
	char *err = NULL;
	int r = conf_load(path, &cfg, &err);
	if (r < 0) {
		conf_print_errors(stderr, "loft: ", err, "cannot load configuration");
		free(err);
		return r;
	}
	r = conf_check_files(cfg, &err);
	if (r == 0)
		r = imap_client_rules_check(cfg, &err);
	if (r < 0) {
		conf_print_errors(stderr, "loft: ", err, "configuration check failed");
		free(err);
		conf_free(cfg);
		return r;
	}
	*snap_r = net_snapshot_create(cfg, &err);
	if (*snap_r == NULL) {
		fprintf(stderr, "loft: %s: %s\n", path, err);
		free(err);
		return LOFT_EINVAL;
	}
	return 0;
}

/* Tens of thousands of connections and a cache of user environments need
 * as many descriptors: raise the soft limit to the hard one, then say what
 * it allows (a warning when it is short of what the configuration can
 * use). */
static void raise_fd_limit(const struct loft_config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	struct fd_budget b;
	bool is_short;
	fd_budget_compute(cfg, rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur,
			  &b);
	char *text = fd_budget_describe(cfg, &b, &is_short);
	if (is_short)
		log_warn("%s", text);
	else
		log_info("%s", text);
	free(text);
}

/* The kernel's inotify watch limit, which the store's notification of
 * changes by other processes draws on: say whether the configuration
 * fits it (a warning when it does not; nothing is refused). */
static void check_inotify_limit(const struct loft_config *cfg)
{
	uint64_t watches = 0;
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
	if (f != NULL) {
		if (fscanf(f, "%" SCNu64, &watches) != 1)
			watches = 0;
		fclose(f);
	}
	bool is_short;
	char *text = fd_budget_inotify(cfg, watches, &is_short);
	if (is_short)
		log_warn("%s", text);
	else
		log_info("%s", text);
	free(text);
}

int server_main(const char *config_path, bool check_only)
{
	struct server_ctx s = { .config_path = config_path, .log_fd = -1 };
	char *err = NULL;
	if (load(config_path, &s.snap) < 0)
		return 1;
	if (check_only) {
		printf("loft: %s: configuration is valid\n", config_path);
		net_snapshot_unref(&s.snap);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (apply_log(&s, s.snap->cfg, &err) == 0) {
		raise_fd_limit(s.snap->cfg);
		check_inotify_limit(s.snap->cfg);
	}
	if (s.log_fd < 0 || services_open(s.snap->cfg, &s.svc, &err) < 0 ||
	    net_server_create(s.snap, server_protos, &s.net, &err) < 0) {
		fprintf(stderr, "loft: %s\n", err);
		free(err);
		services_close(&s.svc);
		net_snapshot_unref(&s.snap);
		log_async_stop();
		if (s.log_fd >= 0) {
			log_set_fd(2);
			close(s.log_fd);
		}
		return 1;
	}
	/* The services borrow strings from the first snapshot's config: keep
	 * that snapshot until they are closed. */
	struct net_snapshot *svc_snap = net_snapshot_ref(s.snap);
	s.svc->net = s.net;
	net_server_set_services(s.net, s.svc);
	uv_loop_init(&s.loop);
	uv_signal_init(&s.loop, &s.sig_term);
	uv_signal_init(&s.loop, &s.sig_int);
	uv_signal_init(&s.loop, &s.sig_hup);
	s.sig_term.data = s.sig_int.data = s.sig_hup.data = &s;
	uv_signal_start(&s.sig_term, on_stop_signal, SIGTERM);
	uv_signal_start(&s.sig_int, on_stop_signal, SIGINT);
	uv_signal_start(&s.sig_hup, on_hup, SIGHUP);

	int rc = 0;
	if (net_server_start(s.net, &err) < 0) {
		log_error("%s", err);
		free(err);
		net_server_stop(s.net);
		release_signals(&s);
		rc = 1;
	} else {
		log_info("loft %s serving pid=%d workers=%d config=%s", LOFT_VERSION,
			 (int)getpid(), s.snap->cfg->workers, config_path);
	}
	uv_run(&s.loop, UV_RUN_DEFAULT);
	net_server_join(&s.net);
	close_signals(&s);
	services_close(&s.svc);
	spam_stats_log();   /* the counters of scans and learns, once */
	net_snapshot_unref(&svc_snap);
	uv_loop_close(&s.loop);
	net_snapshot_unref(&s.snap);
	if (rc == 0)
		log_info("stopped");
	log_async_stop();
	log_set_fd(2);
	if (s.log_fd >= 0)
		close(s.log_fd);
	return rc;
}
