/* harness.c - server processes, raw sockets and libcurl for the integration
 * tests. See harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/internal/ordered-set.h>
#include <curl/curl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BANNER_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS   10000
#define MAX_SERVERS       32
#define MAX_HEAD_BYTES    (1 << 20)
#define MAX_WRAPPER_WORDS 64

/* --- Time ------------------------------------------------------------------ */

int64_t h_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms) {
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

static int remaining_ms(int64_t deadline) {
    int64_t d = deadline - h_now_ms();
    return d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
}

/* --- Errors ---------------------------------------------------------------- */

static char last_error[512];

const char *h_last_error(void) {
    return last_error;
}

static void set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

/* --- A wrapper around the servers (harness.h) ------------------------------ */

static struct {
    char *words[MAX_WRAPPER_WORDS]; /* the command, NULL-terminated; words[0] NULL if none */
    size_t n;
    int error_status;     /* --error-exitcode=N, or -1 */
    const char *log_file; /* --log-file=PATH, or NULL */
    int scale;            /* CHOPIN_TEST_TIME_SCALE */
} wrapper;
static pthread_once_t wrapper_once = PTHREAD_ONCE_INIT;

static void wrapper_parse(void) {
    wrapper.error_status = -1;
    const char *w = getenv("CHOPIN_TEST_SERVER_WRAPPER");
    if (w && *w) {
        char *copy = strdup(w), *save = NULL; /* kept for the life of the process */
        if (!copy) abort();
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            if (wrapper.n == MAX_WRAPPER_WORDS - 1) {
                fprintf(stderr, "harness: CHOPIN_TEST_SERVER_WRAPPER has over %d words\n",
                        MAX_WRAPPER_WORDS - 1);
                exit(2);
            }
            wrapper.words[wrapper.n++] = tok;
            /* valgrind's --error-exitcode=0 is the default: no verdict status */
            if (!strncmp(tok, "--error-exitcode=", 17))
                wrapper.error_status = atoi(tok + 17) > 0 ? atoi(tok + 17) : -1;
            if (!strncmp(tok, "--log-file=", 11)) wrapper.log_file = tok + 11;
        }
    }
    wrapper.scale = wrapper.n ? 10 : 1;
    const char *sc = getenv("CHOPIN_TEST_TIME_SCALE");
    if (sc && *sc) {
        char *end;
        long v = strtol(sc, &end, 10);
        if (*end || v < 1 || v > 1000) {
            fprintf(stderr,
                    "harness: CHOPIN_TEST_TIME_SCALE must be an integer from 1 to 1000, "
                    "not '%s'\n",
                    sc);
            exit(2);
        }
        wrapper.scale = (int)v;
    }
}

static void wrapper_init(void) {
    pthread_once(&wrapper_once, wrapper_parse);
}

bool h_wrapped(void) {
    wrapper_init();
    return wrapper.n > 0;
}

int h_time_scale(void) {
    wrapper_init();
    return wrapper.scale;
}

/* Criterion's per-test timeouts are constants of each TestSuite; under a
 * wrapper the servers, and so the tests, run several times slower. The
 * runner reads them as it starts each test, after this hook. */
ReportHook(PRE_ALL)(struct criterion_test_set *set) {
    int scale = h_time_scale();
    if (scale == 1) return;
    for (struct criterion_ordered_set_node *sn = set->suites->first; sn; sn = sn->next) {
        struct criterion_suite_set *suite = (void *)(sn + 1);
        if (suite->suite.data) suite->suite.data->timeout *= scale;
        if (!suite->tests) continue;
        for (struct criterion_ordered_set_node *tn = suite->tests->first; tn; tn = tn->next) {
            struct criterion_test *test = (void *)(tn + 1);
            if (test->data) test->data->timeout *= scale;
        }
    }
}

/* The wrapper's --log-file for the server with this pid: %p is the pid, %%
 * a percent sign (valgrind's other % forms are left as they are). A
 * relative path is from dir, where the wrapper runs. */
static void wrapper_log_path(pid_t pid, const char *dir, char *out, size_t cap) {
    out[0] = 0;
    if (!wrapper.log_file) return;
    size_t k = 0;
    if (wrapper.log_file[0] != '/') k = (size_t)snprintf(out, cap, "%s/", dir);
    for (const char *p = wrapper.log_file; *p && k + 16 < cap; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            k += (size_t)snprintf(out + k, cap - k, "%d", (int)pid);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            out[k++] = '%';
            p++;
        } else {
            out[k++] = *p;
        }
    }
    out[k] = 0;
}

/* --- Server processes ------------------------------------------------------ */

static h_server *servers[MAX_SERVERS];
static bool initialised;

static void init_once(void) {
    wrapper_init();
    if (initialised) return;
    initialised = true;
    signal(SIGPIPE, SIG_IGN); /* a server that closes on us is an error code, not a signal */
    atexit(h_cleanup);
}

static void remember(h_server *s) {
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (!servers[i]) {
            servers[i] = s;
            return;
        }
    }
    cr_assert_fail("harness: more than %d servers at once", MAX_SERVERS);
}

static void forget(h_server *s) {
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i] == s) servers[i] = NULL;
}

static bool has_name(const char *const *env, const char *entry) {
    size_t n = strcspn(entry, "=");
    for (; env && *env; env++)
        if (strncmp(*env, entry, n) == 0 && (*env)[n] == '=') return true;
    return false;
}

/* The child's environment: ours without SERVER_*, CHOPIN_*, DATABASE_* and
 * NOTIFY_SOCKET (a service manager's, if the tests run under one), the
 * defaults, then the test's own settings. */
static char **build_env(const char *const *env) {
    /* An in-memory database: a server under test leaves no file behind. */
    static const char *const defaults[] = {"SERVER_HOST=127.0.0.1", "SERVER_PORT=0",
                                           "CHOPIN_WORKERS=1",
                                           "DATABASE_URL=sqlite::memory:", NULL};
    size_t n = 0, extra = 0;
    while (environ[n]) n++;
    while (env && env[extra]) extra++;
    char **out = calloc(n + extra + 5, sizeof *out);
    cr_assert_not_null(out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(environ[i], "SERVER_", 7) || !strncmp(environ[i], "CHOPIN_", 7) ||
            !strncmp(environ[i], "DATABASE_", 9) || !strncmp(environ[i], "NOTIFY_SOCKET=", 14))
            continue;
        out[k++] = environ[i];
    }
    for (const char *const *d = defaults; *d; d++)
        if (!has_name(env, *d)) out[k++] = (char *)*d;
    for (size_t i = 0; i < extra; i++) out[k++] = (char *)env[i];
    out[k] = NULL;
    return out;
}

static char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) break;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

char *h_stderr(const h_server *s) {
    char *text = read_file(s->err_path, NULL);
    return text ? text : strdup("");
}

/* Prints the end of the child's stderr to ours, for a failure's context. */
static void dump_stderr(const h_server *s, const char *why) {
    size_t len = 0;
    char *text = read_file(s->err_path, &len);
    if (!text) return;
    const char *from = len > 4000 ? text + len - 4000 : text;
    fprintf(stderr, "---- server %s; its stderr (%s) ----\n%s\n---- end ----\n", why,
            s->banner[0] ? s->banner : "no banner", from);
    free(text);
}

static int decode_status(int st) {
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* A reaped server's exit status under a wrapper: its error status is the
 * wrapper's verdict (memcheck found errors in the server). It fails the
 * test here, with the wrapper's report, so that no test can take it for an
 * exit status it expected, nor ignore it. */
static void wrapper_verdict(const h_server *s, int status) {
    if (!wrapper.n || wrapper.error_status < 0 || status != wrapper.error_status) return;
    const char *log = s->wrapper_log[0] ? s->wrapper_log : s->err_path;
    size_t len = 0;
    char *text = read_file(log, &len);
    const char *from = text && len > 30000 ? text + len - 30000 : text;
    fprintf(stderr, "---- %s reported errors in the server (%s): %s ----\n%s\n---- end ----\n",
            wrapper.words[0], s->banner[0] ? s->banner : "no banner", log,
            from ? from : "(unreadable)");
    free(text);
    if (criterion_current_test)
        cr_expect_fail("%s reported errors in the server (exit status %d): see %s",
                       wrapper.words[0], status, log);
}

static int wait_exit(h_server *s, int timeout_ms);

static void kill_hard(h_server *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGKILL);
    int st;
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR) {
    }
    s->exit_status = -1;
    s->pid = 0;
}

static void kill_and_reap(h_server *s) {
    if (s->pid > 0 && wrapper.n) {
        /* SIGKILL would take the wrapper down before its checks at exit
         * (memcheck's leak check): a graceful stop first. */
        kill(s->pid, SIGTERM);
        wait_exit(s, STOP_TIMEOUT_MS * wrapper.scale);
    }
    kill_hard(s);
}

static void remove_files(h_server *s) {
    if (s->err_path[0]) unlink(s->err_path);
    if (s->dir[0]) rmdir(s->dir);
    s->err_path[0] = s->dir[0] = 0;
}

void h_free(h_server *s) {
    if (!s) return;
    kill_and_reap(s);
    if (s->out_fd >= 0) close(s->out_fd);
    remove_files(s);
    forget(s);
    free(s);
}

void h_cleanup(void) {
    for (int i = 0; i < MAX_SERVERS; i++) {
        h_server *s = servers[i];
        if (!s) continue;
        if (s->pid > 0) dump_stderr(s, "killed by the harness after the test ended");
        h_free(s);
    }
}

/* A start-up failure: kill the child, show its stderr, fail the test. */
static void start_failed(h_server *s, const char *what) {
    kill_and_reap(s);
    dump_stderr(s, what);
    char banner[sizeof s->banner];
    memcpy(banner, s->banner, sizeof banner);
    h_free(s);
    cr_assert_fail("server failed to start: %s (stdout: '%s')", what, banner);
}

/* The wrapper's program as execve wants it: a path, looked up in PATH
 * unless it has a slash. */
static bool find_in_path(const char *name, char *out, size_t cap) {
    if (strchr(name, '/')) return snprintf(out, cap, "%s", name) < (int)cap;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        if (len && snprintf(out, cap, "%.*s/%s", (int)len, p, name) < (int)cap &&
            access(out, X_OK) == 0)
            return true;
        p += len;
        if (*p == ':') p++;
    }
    return false;
}

static void child_exec(char **argv, char **envp, const char *dir, int out_fd, int err_fd,
                       pid_t parent) {
    /* Only async-signal-safe calls from here on. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &dfl, NULL);
    if (chdir(dir) != 0) _exit(127);
    execve(argv[0], argv, envp);
    _exit(127);
}

h_server *h_start(const char *bin, const char *const *env) {
    init_once();
    h_server *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    s->out_fd = -1;
    s->exit_status = -1;
    snprintf(s->dir, sizeof s->dir, "/tmp/chopin-it.XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir), "mkdtemp: %s", strerror(errno));
    snprintf(s->err_path, sizeof s->err_path, "%s/stderr", s->dir);
    remember(s);

    int err_fd = open(s->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int pipe_fd[2];
    cr_assert(err_fd >= 0, "open %s: %s", s->err_path, strerror(errno));
    cr_assert_eq(pipe2(pipe_fd, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
    char **envp = build_env(env);
    /* argv: the wrapper's words, if any, then the server (built before the
     * fork: the child may only make async-signal-safe calls). */
    char *argv[MAX_WRAPPER_WORDS + 2];
    size_t argc = 0;
    char wrapper_bin[4096];
    if (wrapper.n) {
        if (!find_in_path(wrapper.words[0], wrapper_bin, sizeof wrapper_bin))
            cr_assert_fail("CHOPIN_TEST_SERVER_WRAPPER: '%s' not found in PATH", wrapper.words[0]);
        argv[argc++] = wrapper_bin;
        for (size_t i = 1; i < wrapper.n; i++) argv[argc++] = wrapper.words[i];
    }
    argv[argc++] = (char *)bin;
    argv[argc] = NULL;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) child_exec(argv, envp, s->dir, pipe_fd[1], err_fd, parent);
    free(envp);
    close(pipe_fd[1]);
    close(err_fd);
    s->out_fd = pipe_fd[0];
    if (pid < 0) {
        start_failed(s, "fork failed");
        return NULL;
    }
    s->pid = pid;
    wrapper_log_path(pid, s->dir, s->wrapper_log, sizeof s->wrapper_log);

    /* The banner: a line ending in "listening on http://HOST:PORT" (other
     * lines before it are skipped). */
    int banner_ms = BANNER_TIMEOUT_MS * wrapper.scale;
    int64_t deadline = h_now_ms() + banner_ms;
    size_t n = 0;
    for (;;) {
        s->banner[n] = 0;
        char *nl = memchr(s->banner, '\n', n);
        if (nl) {
            *nl = 0;
            if (strstr(s->banner, "listening on http://")) break;
            n -= (size_t)(nl + 1 - s->banner);
            memmove(s->banner, nl + 1, n + 1);
            continue;
        }
        if (n == sizeof s->banner - 1) {
            start_failed(s, "banner line too long");
            return NULL;
        }
        struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
        int left = remaining_ms(deadline);
        int pr = left > 0 ? poll(&p, 1, left) : 0;
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) {
            char why[64];
            snprintf(why, sizeof why, "no banner within %d s", banner_ms / 1000);
            start_failed(s, why);
            return NULL;
        }
        ssize_t r = read(s->out_fd, s->banner + n, sizeof s->banner - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int st = wait_exit(s, 1000);
            char why[64];
            snprintf(why, sizeof why, "exited before the banner (status %d)", st);
            start_failed(s, why);
            return NULL;
        }
        n += (size_t)r;
    }
    const char *url = strstr(s->banner, "listening on http://");
    const char *colon = url ? strrchr(url, ':') : NULL;
    if (!url || !colon || colon < url + strlen("listening on http:/")) {
        start_failed(s, "banner without 'listening on http://HOST:PORT'");
        return NULL;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535) {
        start_failed(s, "banner with an invalid port");
        return NULL;
    }
    s->port = (int)port;
    fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
    return s;
}

void h_signal(h_server *s, int sig) {
    if (s->pid > 0) kill(s->pid, sig);
}

/* Waits for the exit without commenting on it. */
static int wait_exit(h_server *s, int timeout_ms) {
    if (s->pid <= 0) return s->exit_status;
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            s->exit_status = decode_status(st);
            s->pid = 0;
            wrapper_verdict(s, s->exit_status);
            return s->exit_status;
        }
        if (r < 0 && errno != EINTR) {
            s->pid = 0;
            s->exit_status = -1;
            return -1;
        }
        if (h_now_ms() >= deadline) return -1;
        h_sleep_ms(5);
    }
}

int h_wait_exit(h_server *s, int timeout_ms) {
    bool running = s->pid > 0;
    int st = wait_exit(s, timeout_ms);
    if (running && s->pid <= 0 && st != 0) dump_stderr(s, "exited with a non-zero status");
    return st;
}

int h_stop_signal(h_server *s, int sig) {
    if (s->pid <= 0) return s->exit_status;
    kill(s->pid, sig);
    int stop_ms = STOP_TIMEOUT_MS * h_time_scale();
    int st = h_wait_exit(s, stop_ms);
    if (s->pid > 0) {
        dump_stderr(s, "did not exit in time after the signal");
        kill_hard(s); /* not kill_and_reap: it would wait as long again */
        cr_assert_fail("server did not exit within %d ms of signal %d", stop_ms, sig);
    }
    return st;
}

int h_stop(h_server *s) {
    return h_stop_signal(s, SIGTERM);
}

static long proc_status_kib(const h_server *s, const char *field) {
    if (s->pid <= 0) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, field, flen) && line[flen] == ':') {
            v = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

long h_rss_kib(const h_server *s) {
    return proc_status_kib(s, "VmRSS");
}
long h_hwm_kib(const h_server *s) {
    return proc_status_kib(s, "VmHWM");
}

/* --- Raw sockets ----------------------------------------------------------- */

static int fill_addr(int family, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *a;
    }
    return 0;
}

static int socket_connecting(int family, int port) {
    struct sockaddr_storage ss;
    socklen_t len;
    fill_addr(family, port, &ss, &len);
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int h_socket_connecting(int port) {
    return socket_connecting(AF_INET, port);
}

h_conn *h_try_connect(int family, int port) {
    int fd = socket_connecting(family, port);
    if (fd < 0) return NULL;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int64_t deadline = h_now_ms() + H_TIMEOUT_MS;
    int pr;
    while ((pr = poll(&p, 1, remaining_ms(deadline))) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (pr == 0)
        err = ETIMEDOUT;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
        err = errno;
    if (err) {
        close(fd);
        errno = err;
        return NULL;
    }
    h_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    c->fd = fd;
    return c;
}

static h_conn *connect_or_fail(int family, int port) {
    h_conn *c = h_try_connect(family, port);
    cr_assert_not_null(c, "connect to %s port %d: %s", family == AF_INET6 ? "[::1]" : "127.0.0.1",
                       port, strerror(errno));
    return c;
}

h_conn *h_connect(int port) {
    return connect_or_fail(AF_INET, port);
}
h_conn *h_connect6(int port) {
    return connect_or_fail(AF_INET6, port);
}

void h_close(h_conn *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    free(c);
}

bool h_send(h_conn *c, const void *data, size_t len) {
    const char *p = data;
    int64_t deadline = h_now_ms() + H_TIMEOUT_MS;
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = h_now_ms() + H_TIMEOUT_MS; /* progress */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {.fd = c->fd, .events = POLLOUT};
            int left = remaining_ms(deadline);
            if (left == 0 || poll(&pf, 1, left) == 0) {
                errno = ETIMEDOUT;
                return false;
            }
            continue;
        }
        return false;
    }
    return true;
}

bool h_sends(h_conn *c, const char *s) {
    return h_send(c, s, strlen(s));
}

ssize_t h_read_some(h_conn *c, int timeout_ms) {
    if (c->eof) return 0;
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        if (c->cap - c->len < 65536) {
            size_t ncap = c->cap ? c->cap * 2 : 131072;
            while (ncap - c->len < 65536) ncap *= 2;
            char *nb = realloc(c->buf, ncap + 1);
            cr_assert_not_null(nb);
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            c->buf[c->len] = 0;
            return n;
        }
        if (n == 0) {
            c->eof = true;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pf = {.fd = c->fd, .events = POLLIN};
            int left = remaining_ms(deadline);
            if (left == 0) return -1;
            int pr = poll(&pf, 1, left);
            if (pr == 0) return -1;
            continue;
        }
        c->err = errno; /* ECONNRESET and friends: the connection is over */
        c->eof = true;
        return 0;
    }
}

bool h_read_until_close(h_conn *c, size_t max, int timeout_ms) {
    int64_t deadline = h_now_ms() + timeout_ms;
    while (!c->eof && c->len < max) {
        int left = remaining_ms(deadline);
        if (left == 0) break;
        if (h_read_some(c, left) < 0) break;
    }
    return c->eof;
}

bool h_wait_close(h_conn *c, int timeout_ms) {
    return h_read_until_close(c, SIZE_MAX, timeout_ms);
}

/* --- Responses ------------------------------------------------------------- */

void h_response_free(h_response *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nheaders; i++) free(r->names[i]), free(r->values[i]);
    free(r->names);
    free(r->values);
    free(r->body);
    free(r);
}

const char *h_header(const h_response *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcasecmp(r->names[i], name)) return r->values[i];
    return NULL;
}

static const char *find_crlf2(const char *buf, size_t len) {
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return buf + i + 1;
    return NULL;
}

long h_parse_response(const char *buf, size_t len, bool head_only, bool at_eof, h_response **out) {
    *out = NULL;
    const char *head_end = find_crlf2(buf, len);
    if (!head_end) {
        if (len > MAX_HEAD_BYTES) {
            set_error("no end of response head in %zu bytes", len);
            return -1;
        }
        return 0;
    }
    size_t head_len = (size_t)(head_end - buf);
    /* Status line. */
    if (head_len < 14 || memcmp(buf, "HTTP/1.", 7) || (buf[7] != '0' && buf[7] != '1') ||
        buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
        buf[11] < '0' || buf[11] > '9' || (buf[12] != ' ' && buf[12] != '\r')) {
        set_error("bad status line: '%.60s'", buf);
        return -1;
    }
    h_response *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    r->minor = buf[7] - '0';
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    const char *p = memchr(buf, '\n', head_len) + 1;
    /* Header fields. */
    int64_t content_length = -1;
    bool chunked = false;
    while (p < head_end - 2) {
        const char *eol = memchr(p, '\n', (size_t)(head_end - p));
        if (!eol || eol[-1] != '\r') {
            set_error("header line without CRLF");
            h_response_free(r);
            return -1;
        }
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p) {
            set_error("bad header line: '%.*s'", (int)(eol - p - 1), p);
            h_response_free(r);
            return -1;
        }
        const char *v = colon + 1, *ve = eol - 1;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        char **nn = realloc(r->names, (r->nheaders + 1) * sizeof *nn);
        cr_assert_not_null(nn);
        r->names = nn;
        char **nv = realloc(r->values, (r->nheaders + 1) * sizeof *nv);
        cr_assert_not_null(nv);
        r->values = nv;
        r->names[r->nheaders] = strndup(p, (size_t)(colon - p));
        r->values[r->nheaders] = strndup(v, (size_t)(ve - v));
        const char *name = r->names[r->nheaders], *value = r->values[r->nheaders];
        r->nheaders++;
        if (!strcasecmp(name, "Content-Length")) {
            char *end;
            errno = 0;
            long long cl = strtoll(value, &end, 10);
            if (!*value || *end || cl < 0 || errno ||
                (content_length >= 0 && cl != content_length)) {
                set_error("bad Content-Length '%s'", value);
                h_response_free(r);
                return -1;
            }
            content_length = cl;
        } else if (!strcasecmp(name, "Transfer-Encoding")) {
            chunked = true;
        }
        p = eol + 1;
    }
    /* Body. */
    bool no_body = head_only || r->status < 200 || r->status == 204 || r->status == 304;
    size_t body_len = 0;
    if (no_body) {
        body_len = 0;
    } else if (chunked) {
        set_error("chunked responses are not expected from chopin");
        h_response_free(r);
        return -1;
    } else if (content_length >= 0) {
        if (len - head_len < (uint64_t)content_length) {
            h_response_free(r);
            return 0;
        }
        body_len = (size_t)content_length;
    } else {
        if (!at_eof) { /* delimited by the close */
            h_response_free(r);
            return 0;
        }
        body_len = len - head_len;
    }
    r->body = malloc(body_len + 1);
    cr_assert_not_null(r->body);
    memcpy(r->body, head_end, body_len);
    r->body[body_len] = 0;
    r->body_len = body_len;
    r->raw_len = head_len + body_len;
    *out = r;
    return (long)r->raw_len;
}

h_response *h_read_response(h_conn *c, bool head_only, int timeout_ms) {
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        h_response *r;
        long n = h_parse_response(c->buf ? c->buf : "", c->len, head_only, c->eof, &r);
        if (n > 0) {
            memmove(c->buf, c->buf + n, c->len - (size_t)n);
            c->len -= (size_t)n;
            return r;
        }
        if (n < 0) return NULL;
        if (c->eof) {
            set_error("connection closed after %zu bytes of a response (%s): '%.80s'", c->len,
                      c->err ? strerror(c->err) : "EOF", c->buf ? c->buf : "");
            return NULL;
        }
        int left = remaining_ms(deadline);
        if (left == 0 || h_read_some(c, left) < 0) {
            set_error("no complete response within %d ms (%zu bytes buffered: '%.80s')", timeout_ms,
                      c->len, c->buf ? c->buf : "");
            return NULL;
        }
    }
}

h_response *h_roundtrip(h_conn *c, const char *req) {
    if (!h_sends(c, req)) {
        set_error("send failed: %s", strerror(errno));
        return NULL;
    }
    return h_read_response(c, strncmp(req, "HEAD ", 5) == 0, H_TIMEOUT_MS);
}

bool h_is_error_envelope(const h_response *r, int status) {
    if (!r || r->status != status) return false;
    const char *type = h_header(r, "Content-Type");
    if (!type || strncmp(type, "application/json", 16)) return false;
    char prefix[64];
    int n = snprintf(prefix, sizeof prefix,
                     "{\"success\":false,\"error\":{\"status\":%d,\"code\":\"", status);
    if (r->body_len < (size_t)n + 2 || memcmp(r->body, prefix, (size_t)n)) return false;
    if (!strstr(r->body, "\"message\":\"")) return false;
    return !strcmp(r->body + r->body_len - 2, "}}");
}

/* --- libcurl ------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} growbuf;

static size_t grow_append(void *ptr, size_t size, size_t nmemb, void *userdata) {
    growbuf *g = userdata;
    size_t n = size * nmemb;
    if (g->cap - g->len < n + 1) {
        size_t ncap = g->cap ? g->cap : 16384;
        while (ncap - g->len < n + 1) ncap *= 2;
        char *nd = realloc(g->data, ncap);
        if (!nd) return 0;
        g->data = nd;
        g->cap = ncap;
    }
    memcpy(g->data + g->len, ptr, n);
    g->len += n;
    g->data[g->len] = 0;
    return n;
}

h_curl_response h_curl_get(const char *url) {
    static bool curl_ready;
    init_once();
    if (!curl_ready) {
        cr_assert_eq(curl_global_init(CURL_GLOBAL_ALL), CURLE_OK);
        curl_ready = true;
    }
    h_curl_response r = {.content_length = -1};
    CURL *h = curl_easy_init();
    cr_assert_not_null(h);
    growbuf body = {0}, heads = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow_append);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, grow_append);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &heads);
    r.curl_code = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_off_t cl = -1;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
        r.content_length = cl;
    curl_easy_cleanup(h);
    r.body = body.data ? body.data : calloc(1, 1);
    r.body_len = body.len;
    r.headers = heads.data ? heads.data : calloc(1, 1);
    r.headers_len = heads.len;
    return r;
}

void h_curl_free(h_curl_response *r) {
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}
