/* harness.h - drives real chopin-demo / chopin-tfb processes for the
 * integration tests: start a server binary with a chosen environment, learn
 * its port from the banner, talk to it over raw sockets or libcurl, look at
 * its memory, and stop it with a signal.
 *
 * Every server started is remembered; h_cleanup() (registered with atexit and
 * meant as the Criterion .fini of every suite) SIGKILLs whatever still runs,
 * and each child also dies with the test process (PR_SET_PDEATHSIG), so a
 * failed or crashed test leaves no stray server behind.
 *
 * Functions that cannot go on (a server that does not start, a socket that
 * cannot connect) fail the current test with cr_assert; the others report
 * failure through their return value so that tests can assert on it.
 *
 * A wrapper (tests/stress/memcheck.sh runs the suites so):
 *   CHOPIN_TEST_SERVER_WRAPPER  a command put in front of every server's
 *       argv, split on spaces and tabs (no quoting), e.g.
 *       "valgrind --error-exitcode=99 --leak-check=full --log-file=/tmp/vg/%p.log".
 *       It runs in the server's private directory with the server's
 *       environment. Two of its words mean something to the harness:
 *       --error-exitcode=N  an exit with status N is the wrapper's verdict
 *           (memcheck found errors): whenever such a server is reaped, the
 *           current test fails, saying so, whatever it expected of the exit;
 *       --log-file=PATH     where that verdict is explained (%p: the
 *           server's pid), shown with the failure; best absolute, as a
 *           relative one is left behind in the server's directory. Without
 *           it the wrapper writes to the server's stderr, which some tests
 *           read.
 *       Under a wrapper, servers the harness has to get rid of (h_free,
 *       h_cleanup, a failed start) get SIGTERM before SIGKILL, so that the
 *       wrapper's checks at exit (memcheck's leak check) still run.
 *   CHOPIN_TEST_TIME_SCALE  an integer from 1 to 1000 (default 10 under a
 *       wrapper, else 1) multiplying the bounds that only the server's speed
 *       can break: the banner wait, the stop wait, H_TIMEOUT_MS and the
 *       Criterion timeouts of every test. Bounds that a check is about (a
 *       timeout firing at the right time, a prompt exit) are not scaled. */
#ifndef CHOPIN_IT_HARNESS_H
#define CHOPIN_IT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Under a wrapper (CHOPIN_TEST_SERVER_WRAPPER set). */
bool h_wrapped(void);
/* CHOPIN_TEST_TIME_SCALE (above): 1 unless the servers run slower. */
int h_time_scale(void);

/* Default bound on any single wait for the server, in milliseconds: a
 * liveness bound only, scaled under a wrapper. */
#define H_TIMEOUT_MS (5000 * h_time_scale())

/* --- Time ------------------------------------------------------------------ */

int64_t h_now_ms(void); /* CLOCK_MONOTONIC */
void h_sleep_ms(int ms);

/* --- Server processes ------------------------------------------------------ */

typedef struct {
    pid_t pid;         /* 0 once reaped */
    int port;          /* parsed from the banner */
    int out_fd;        /* read end of the child's stdout */
    char dir[64];      /* private working directory (no stray .env) */
    char err_path[96]; /* the child's stderr */
    char banner[512];
    int exit_status;       /* after stopping: 0..255, 128+signal, or -1 */
    char wrapper_log[512]; /* the wrapper's --log-file for this server, or "" */
} h_server;

/* Starts bin with env, a NULL-terminated list of "NAME=value" applied over
 * a clean base: every SERVER_* and CHOPIN_* variable of the test process is
 * dropped, then SERVER_HOST=127.0.0.1, SERVER_PORT=0 and CHOPIN_WORKERS=1
 * are set unless env names them. Waits up to 5 s (scaled) for the banner.
 * Fails the test if the server does not come up. */
h_server *h_start(const char *bin, const char *const *env);

/* Sends sig and waits up to 10 s (scaled) for the exit; on timeout SIGKILLs
 * the child and fails the test. Returns the exit status (0..255, or
 * 128+signal when killed by a signal). */
int h_stop_signal(h_server *s, int sig);
int h_stop(h_server *s); /* h_stop_signal(s, SIGTERM) */
/* Sends a signal without waiting. */
void h_signal(h_server *s, int sig);
/* Waits up to timeout_ms for the child to exit. Returns its status as
 * h_stop_signal does, or -1 if it still runs. */
int h_wait_exit(h_server *s, int timeout_ms);
/* Frees a stopped server (removes its files). Safe on NULL. */
void h_free(h_server *s);
/* The child's stderr so far, NUL-terminated (free it). */
char *h_stderr(const h_server *s);
/* Resident set size and its high-water mark, in KiB, from /proc/PID/status;
 * -1 if unreadable. */
long h_rss_kib(const h_server *s);
long h_hwm_kib(const h_server *s);
/* SIGKILLs and reaps every server still running. Idempotent. */
void h_cleanup(void);

/* --- Raw sockets ----------------------------------------------------------- */

/* A client connection: a blocking socket and the bytes received but not yet
 * consumed by h_read_response (pipelined responses arrive back to back). */
typedef struct {
    int fd;
    char *buf;
    size_t len, cap;
    bool eof; /* the peer closed (read returned 0 or the connection was reset) */
    int err;  /* errno of the last failed read, 0 if none */
} h_conn;

/* Connects to 127.0.0.1:port (or [::1]:port). Fails the test on error. */
h_conn *h_connect(int port);
h_conn *h_connect6(int port);
/* Connects; returns NULL with errno set instead of failing (ECONNREFUSED...). */
h_conn *h_try_connect(int family, int port);
void h_close(h_conn *c);
/* A non-blocking socket whose connect to 127.0.0.1:port is under way; -1 on error. */
int h_socket_connecting(int port);

/* Sends every byte (MSG_NOSIGNAL). Returns false on error (errno set). */
bool h_send(h_conn *c, const void *data, size_t len);
bool h_sends(h_conn *c, const char *s);
/* Waits up to timeout_ms for input and appends what arrives to c->buf.
 * Returns the bytes appended, 0 on EOF or reset (c->eof set), -1 on timeout. */
ssize_t h_read_some(h_conn *c, int timeout_ms);
/* Reads until the peer closes, max bytes are buffered, or timeout_ms passes
 * in total. Returns true if the peer closed. */
bool h_read_until_close(h_conn *c, size_t max, int timeout_ms);
/* Waits up to timeout_ms for the peer to close, keeping any bytes that come
 * in c->buf. Returns true if it closed. */
bool h_wait_close(h_conn *c, int timeout_ms);

/* One parsed response. */
typedef struct {
    int status;
    int minor;
    size_t nheaders;
    char **names, **values;
    char *body; /* NUL-terminated for convenience; body_len is authoritative */
    size_t body_len;
    size_t raw_len; /* bytes the response took on the wire */
} h_response;

/* Parses one response at the start of buf. Returns the bytes it takes when
 * complete (*out set), 0 when more bytes are needed, -1 when malformed.
 * head_only: the response to a HEAD (no body whatever the headers say).
 * at_eof: the peer has closed (completes a body delimited by the close). */
long h_parse_response(const char *buf, size_t len, bool head_only, bool at_eof, h_response **out);
/* Reads one response from c, consuming exactly its bytes. NULL on timeout,
 * early close or malformed input; h_last_error() says which. */
h_response *h_read_response(h_conn *c, bool head_only, int timeout_ms);
/* Sends req and reads the response (HEAD-aware from req's first word). */
h_response *h_roundtrip(h_conn *c, const char *req);
const char *h_header(const h_response *r, const char *name); /* case-insensitive; NULL if absent */
void h_response_free(h_response *r);
const char *h_last_error(void);

/* True if r is a JSON error envelope for status: a Content-Type of
 * application/json and a body {"error":{"status":N,"code":"...",...}}. */
bool h_is_error_envelope(const h_response *r, int status);

/* --- libcurl ------------------------------------------------------------- */

typedef struct {
    int curl_code; /* CURLcode */
    long status;
    char *body;
    size_t body_len;
    char *headers; /* the raw header block(s) */
    size_t headers_len;
    int64_t content_length; /* -1 if unknown */
} h_curl_response;

/* GET url through libcurl (30 s timeout); free with h_curl_free. */
h_curl_response h_curl_get(const char *url);
void h_curl_free(h_curl_response *r);

#endif
