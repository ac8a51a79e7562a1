/* dev.c - `chopin dev`: builds and serves the project, and on every change
 * of its sources rebuilds it and restarts the server (inotify). A build
 * that fails leaves the running server alone and says why. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SETTLE_MS  80 /* editors write a file in several steps: wait for the last */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)

#define MAX_WATCHES 1024

typedef struct {
    int fd;
    int root_wd; /* the project's folder: only CMakeLists.txt and .env count there */
    struct {
        int wd;
        char path[PATH_MAX];
    } dirs[MAX_WATCHES]; /* each watched folder, to watch the ones made inside it */
    size_t count;
} watcher;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The folder and the folders in it (not hidden ones). */
static void watch_tree(watcher *w, const char *dir) {
    int wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
    if (wd < 0 || w->count == MAX_WATCHES) return;
    w->dirs[w->count].wd = wd;
    snprintf(w->dirs[w->count].path, sizeof w->dirs[w->count].path, "%s", dir);
    w->count++;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR) continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        watch_tree(w, sub);
    }
    if (d) closedir(d);
}

/* A change worth a rebuild: not an editor's swap or backup file. */
static bool counts(const watcher *w, const struct inotify_event *ev) {
    if (!ev->len) return false;
    const char *name = ev->name;
    size_t n = strlen(name);
    if (ev->wd == w->root_wd) return !strcmp(name, "CMakeLists.txt") || !strcmp(name, ".env");
    if (name[0] == '.' || name[0] == '#' || (n && name[n - 1] == '~')) return false;
    return true;
}

static pid_t start_server(const char *bin) {
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl(bin, bin, (char *)NULL);
        fprintf(stderr, "chopin dev: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* SIGTERM (Chopin finishes what is in flight), SIGKILL after 5 s. */
static void stop_server(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (long long end = now_ms() + 5000; now_ms() < end;) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int cli_dev(int argc, char **argv) {
    if (argc > 0) {
        printf("usage: chopin dev\n\nBuilds the project (build/), serves it, and rebuilds and "
               "restarts it when a file\nin src/, tests/, migrations/, CMakeLists.txt or .env "
               "changes. Ctrl-C stops.\n");
        return strcmp(argv[0], "--help") && strcmp(argv[0], "-h") ? 2 : 0;
    }
    cli_project p;
    if (project_find(&p) || chdir(p.root)) return 1;
    char bin[PATH_MAX + 80];
    project_binary(&p, bin, sizeof bin);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGCHLD);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    static watcher w; /* a few MiB of paths: not on the stack */
    w.fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (sfd < 0 || w.fd < 0) {
        fprintf(stderr, "chopin dev: %s\n", strerror(errno));
        return 1;
    }
    w.root_wd = inotify_add_watch(w.fd, ".", WATCH_MASK);
    watch_tree(&w, "src");
    watch_tree(&w, "tests");
    watch_tree(&w, "migrations");

    pid_t server = project_build(&p) ? 0 : start_server(bin);
    if (!server) fprintf(stderr, "chopin dev: fix the build; waiting for a change\n");
    long long rebuild_at = -1, changed_at = 0;
    for (;;) {
        int timeout =
            rebuild_at < 0 ? -1 : (int)(rebuild_at > now_ms() ? rebuild_at - now_ms() : 0);
        struct pollfd fds[2] = {{.fd = w.fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) break;
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) != sizeof si) continue;
            if (si.ssi_signo == SIGCHLD) {
                if (server > 0 && waitpid(server, NULL, WNOHANG) == server) {
                    fprintf(stderr, "chopin dev: the server stopped; waiting for a change\n");
                    server = 0;
                }
                continue;
            }
            stop_server(server);
            return 0;
        }
        if (fds[0].revents & POLLIN) {
            char events[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
            ssize_t n;
            while ((n = read(w.fd, events, sizeof events)) > 0)
                for (char *e = events; e < events + n;) {
                    const struct inotify_event *ev = (const struct inotify_event *)e;
                    if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
                        for (size_t i = 0; i < w.count; i++)
                            if (w.dirs[i].wd == ev->wd && ev->wd != w.root_wd) {
                                char sub[PATH_MAX * 2];
                                snprintf(sub, sizeof sub, "%s/%s", w.dirs[i].path, ev->name);
                                watch_tree(&w, sub);
                                break;
                            }
                    if (counts(&w, ev)) {
                        if (rebuild_at < 0) changed_at = now_ms();
                        rebuild_at = now_ms() + SETTLE_MS;
                    }
                    e += sizeof *ev + ev->len;
                }
            continue;
        }
        if (rebuild_at < 0 || now_ms() < rebuild_at) continue;
        rebuild_at = -1;
        fprintf(stderr, "chopin dev: change seen, rebuilding\n");
        if (project_build(&p)) {
            fprintf(stderr, "chopin dev: the build failed; %s\n",
                    server ? "the running server stays" : "waiting for a change");
            continue;
        }
        stop_server(server);
        server = start_server(bin);
        fprintf(stderr, "chopin dev: restarted, %lld ms after the change\n", now_ms() - changed_at);
    }
    stop_server(server);
    return 1;
}
