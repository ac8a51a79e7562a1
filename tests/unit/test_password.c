/* test_password.c - argon2id hashes: round trips, PHC strings other
 * implementations read and write (the argon2 command and python3-argon2),
 * bounds on what a stored hash may ask for, rehash detection, and hashing
 * off the worker (a burst of hashes does not stall it). */
#include <criterion/criterion.h>

#include <chopin.h>
#include <chopin/password.h>

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Runs a shell command, returns its first output line (static buffer).
 * Python is Debian's (/usr/bin/python3), where python3-argon2 lives. */
static const char *sh(const char *cmd) {
    static char line[512];
    line[0] = 0;
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    line[strcspn(line, "\n")] = 0;
    int rc = pclose(p);
    cr_assert_eq(rc, 0, "%s exited %d", cmd, rc);
    return line;
}

Test(password, round_trip_and_format) {
    char h[CHOPIN_PASSWORD_HASH_MAX];
    cr_assert_eq(chopin_password_hash(NULL, "correct horse", 13, h, sizeof h), 0);
    cr_assert(!strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), "%s", h);
    cr_assert_eq(chopin_password_verify(NULL, h, "correct horse", 13), 1);
    cr_assert_eq(chopin_password_verify(NULL, h, "correct horsf", 13), 0);
    cr_assert_eq(chopin_password_verify(NULL, h, "correct hors", 12), 0);
    cr_assert_eq(chopin_password_verify(NULL, h, "", 0), 0);
    char h2[CHOPIN_PASSWORD_HASH_MAX];
    cr_assert_eq(chopin_password_hash(NULL, "correct horse", 13, h2, sizeof h2), 0);
    cr_assert_str_neq(h, h2, "a fresh salt each time");
    /* any bytes, NUL included, and the empty password */
    cr_assert_eq(chopin_password_hash(NULL, "a\0b", 3, h, sizeof h), 0);
    cr_assert_eq(chopin_password_verify(NULL, h, "a\0b", 3), 1);
    cr_assert_eq(chopin_password_verify(NULL, h, "a\0c", 3), 0);
    cr_assert_eq(chopin_password_hash(NULL, "", 0, h, sizeof h), 0);
    cr_assert_eq(chopin_password_verify(NULL, h, "", 0), 1);
    char big[4097];
    memset(big, 'x', sizeof big);
    cr_assert_eq(chopin_password_hash(NULL, big, sizeof big, h, sizeof h), -1, "over 4 KiB");
    cr_assert_eq(chopin_password_hash(NULL, "x", 1, h, 20), -1, "out too small");
}

Test(password, stored_hashes_are_bounded) {
    const char *bad[] = {
        "",
        "plain text",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
        "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
        "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=255$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=1$!!!$???",
        "$argon2id$v=19$m=+19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA$",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdB$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", /* salt < 8 bytes */
        NULL,
    };
    for (size_t i = 0; bad[i]; i++)
        cr_assert_eq(chopin_password_verify(NULL, bad[i], "x", 1), -1, "%s", bad[i]);
    cr_assert_eq(chopin_password_verify(NULL, NULL, "x", 1), -1);
}

Test(password, rehash_when_parameters_change) {
    char h[CHOPIN_PASSWORD_HASH_MAX];
    cr_assert_eq(chopin_password_hash(NULL, "pw", 2, h, sizeof h), 0);
    cr_assert(!chopin_password_needs_rehash(h));
    chopin_password_params old = chopin_password_get_params();
    chopin_password_set_params((chopin_password_params){8192, 3, 1});
    cr_assert(chopin_password_needs_rehash(h));
    char h2[CHOPIN_PASSWORD_HASH_MAX];
    cr_assert_eq(chopin_password_hash(NULL, "pw", 2, h2, sizeof h2), 0);
    cr_assert(!strncmp(h2, "$argon2id$v=19$m=8192,t=3,p=1$", 30), "%s", h2);
    cr_assert_eq(chopin_password_verify(NULL, h, "pw", 2), 1, "old hashes still verify");
    chopin_password_set_params(old);
    cr_assert(chopin_password_needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    cr_assert_eq(chopin_password_verify_nobody(NULL, "whatever", 8), 0);
}

/* glibc's malloc keeps a freed block of 19 MiB in its arena and raises its
 * mmap and trim thresholds for the whole process (see "The work area" in
 * password.c): the memory of a hash must not come from malloc. */
Test(password, the_work_area_is_not_mallocs) {
    char h[CHOPIN_PASSWORD_HASH_MAX];
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 3; i++) cr_assert_eq(chopin_password_hash(NULL, "pw", 2, h, sizeof h), 0);
    cr_assert_eq(chopin_password_verify(NULL, h, "pw", 2), 1);
    struct mallinfo2 after = mallinfo2();
    cr_assert_lt(after.arena + after.hblkhd, before.arena + before.hblkhd + (1u << 20),
                 "malloc's heap grew from %zu to %zu bytes", before.arena + before.hblkhd,
                 after.arena + after.hblkhd);
}

/* --- Other implementations -------------------------------------------------------------- */

Test(password, the_argon2_command_and_python_agree) {
    /* The argon2 command's hash (19456 KiB = -k) verifies here. */
    const char *cli =
        sh("printf %s 'p@ss w0rd' | argon2 saltysaltysalty1 -id -t 2 -k 19456 -p 1 -e");
    char theirs[256];
    snprintf(theirs, sizeof theirs, "%s", cli);
    cr_assert(!strncmp(theirs, "$argon2id$v=19$m=19456,t=2,p=1$", 31), "%s", theirs);
    cr_assert_eq(chopin_password_verify(NULL, theirs, "p@ss w0rd", 9), 1);
    cr_assert_eq(chopin_password_verify(NULL, theirs, "p@ss w0rD", 9), 0);
    cr_assert(!chopin_password_needs_rehash(theirs));

    /* Ours verifies in python3-argon2, and a wrong password does not. */
    char ours[CHOPIN_PASSWORD_HASH_MAX], cmd[600];
    cr_assert_eq(chopin_password_hash(NULL, "p@ss w0rd", 9, ours, sizeof ours), 0);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import argon2,sys\n"
             "h=argon2.PasswordHasher()\n"
             "ok=h.verify(sys.argv[1], \"p@ss w0rd\")\n"
             "try:\n h.verify(sys.argv[1], \"nope\"); bad=True\n"
             "except argon2.exceptions.VerifyMismatchError: bad=False\n"
             "print(ok and not bad)' '%s'",
             ours);
    cr_assert_str_eq(sh(cmd), "True");

    /* python3-argon2's verifies here (its own defaults differ: a rehash is due). */
    snprintf(theirs, sizeof theirs, "%s",
             sh("/usr/bin/python3 -c 'import argon2; "
                "print(argon2.PasswordHasher().hash(\"s3cret!\"))'"));
    cr_assert(!strncmp(theirs, "$argon2id$", 10), "%s", theirs);
    cr_assert_eq(chopin_password_verify(NULL, theirs, "s3cret!", 7), 1);
    cr_assert_eq(chopin_password_verify(NULL, theirs, "s3cret", 6), 0);
    cr_assert(chopin_password_needs_rehash(theirs));
}

/* --- Off the worker -------------------------------------------------------------------------- */

static void hash_route(chopin_ctx *c) {
    char h[CHOPIN_PASSWORD_HASH_MAX];
    if (chopin_password_hash(c, "pw", 2, h, sizeof h)) return;
    chopin_text(c, 200, chopin_password_verify(c, h, "pw", 2) == 1 ? "ok" : "mismatch");
}

static void ping(chopin_ctx *c) {
    chopin_text(c, 200, "pong");
}

typedef struct {
    int port;
    const char *path;
    char body[32];
} getter;

static void *get(void *arg) {
    getter *g = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char req[128], buf[1024];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         g->path);
        if (write(fd, req, (size_t)n) == n) {
            size_t got = 0;
            ssize_t k;
            while (got < sizeof buf - 1 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
                got += (size_t)k;
            buf[got] = 0;
            const char *body = strstr(buf, "\r\n\r\n");
            if (body) snprintf(g->body, sizeof g->body, "%s", body + 4);
        }
    }
    close(fd);
    return NULL;
}

static double ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

Test(password, a_burst_of_hashes_leaves_the_worker_free) {
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.port = 0;
    cfg.workers = 1;
    cfg.offload_threads = 2;
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_get(app, "/hash", hash_route);
    chopin_get(app, "/ping", ping);
    cr_assert_eq(chopin_app_start(app), 0);
    enum { N = 12 };
    pthread_t th[N];
    getter g[N];
    for (int i = 0; i < N; i++) {
        g[i] = (getter){chopin_app_port(app), "/hash", ""};
        pthread_create(&th[i], NULL, get, &g[i]);
    }
    usleep(20 * 1000);
    double worst = 0;
    for (int k = 0; k < 5; k++) { /* while the hashes queue on the pool */
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        getter p = {chopin_app_port(app), "/ping", ""};
        get(&p);
        cr_assert_str_eq(p.body, "pong");
        double ms = ms_since(&t0);
        if (ms > worst) worst = ms;
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        cr_assert_str_eq(g[i].body, "ok", "request %d", i);
    }
    cr_assert_lt(worst, 100, "/ping took %.1f ms during %d hashes", worst, N);
    chopin_app_stop(app);
    chopin_app_wait(app);
    chopin_app_free(app);
}
