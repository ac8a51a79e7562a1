/* harness.c - the server processes of the integration tests (and the
 * wrapper they may run under); harness_net.c has the raw sockets, the
 * response parser and libcurl. See harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"
#include "harness_internal.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/internal/ordered-set.h>

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

int harness_remaining_ms(int64_t deadline) {
    int64_t d = deadline - h_now_ms();
    return d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
}

/* --- Errors ---------------------------------------------------------------- */

static char last_error[512];

const char *h_last_error(void) {
    return last_error;
}

void harness_set_error(const char *fmt, ...) {
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

void harness_init(void) {
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
    harness_init();
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
        int left = harness_remaining_ms(deadline);
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
