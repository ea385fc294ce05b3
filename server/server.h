/* The server's top-level context: configuration snapshot, worker loops,
 * listeners, signals, reload and shutdown. This is the only place that holds
 * mutable process-wide state. */
#ifndef LOFT_SERVER_SERVER_H
#define LOFT_SERVER_SERVER_H

#include <stdbool.h>

/* Load config_path, validate it (and its files) and, unless check_only, run
 * the server in the foreground until SIGTERM/SIGINT. Errors are printed to
 * stderr naming file:line before any port is opened. Returns an exit code. */
int server_main(const char *config_path, bool check_only);

#endif
