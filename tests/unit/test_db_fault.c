/* test_db_fault.c - PostgreSQL goes down (as in a crash) while requests
 * run, and comes back on the same port: Chopin answers 503 during the
 * outage without hanging, recovers by itself, and never crashes. It starts
 * a PostgreSQL server of its own (scripts/pg-server.sh), since it stops it. */
#include <criterion/criterion.h>

#include <chopin.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef CHOPIN_SOURCE_DIR
#error "CHOPIN_SOURCE_DIR: the repository, for scripts/pg-server.sh"
#endif

static char pg_dir[256], pg_url[256];

static void pg(const char *what) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/scripts/pg-server.sh %s %s", CHOPIN_SOURCE_DIR, what, pg_dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void pg_start(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/scripts/pg-server.sh start", CHOPIN_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[512];
    while (fgets(line, sizeof line, p)) {
        char *d = strstr(line, "CHOPIN_PG_DIR="), *u = strstr(line, "CHOPIN_PG_URL=");
        if (d) sscanf(d + 14, "%255s", pg_dir);
        if (u) sscanf(u + 14, "%255s", pg_url);
    }
    cr_assert_eq(pclose(p), 0, "pg-server.sh start failed");
    cr_assert(pg_dir[0] && pg_url[0]);
}

static void query(chopin_ctx *c) {
    chopin_rows *r = chopin_sql(c, "SELECT $1::int + 1 AS n", chopin_arg_int(41));
    if (!r) return; /* 503 while the database is away */
    chopin_text(c, 200, chopin_rows_text(r, 0, 0) ? chopin_rows_text(r, 0, 0) : "42");
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One request on a fresh connection: the status, 0 when none came. */
static int get_status(int port, int64_t *ms) {
    int64_t t0 = now_ms();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int status = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        static const char req[] = "GET /q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        if (write(fd, req, sizeof req - 1) == (ssize_t)sizeof req - 1) {
            char buf[1024];
            ssize_t n = read(fd, buf, sizeof buf - 1);
            if (n > 12) status = atoi(buf + 9);
        }
    }
    close(fd);
    *ms = now_ms() - t0;
    return status;
}

typedef struct {
    int port;
    atomic_bool stop;
    atomic_int ok, unavailable, other, other_status, slowest_ms;
} load;

static void *hammer(void *arg) {
    load *l = arg;
    while (!atomic_load(&l->stop)) {
        int64_t ms;
        int st = get_status(l->port, &ms);
        if (st == 200)
            atomic_fetch_add(&l->ok, 1);
        else if (st == 503)
            atomic_fetch_add(&l->unavailable, 1);
        else
            atomic_fetch_add(&l->other, 1), atomic_store(&l->other_status, st);
        if (ms > atomic_load(&l->slowest_ms)) atomic_store(&l->slowest_ms, (int)ms);
    }
    return NULL;
}

/* Stops the server even when an assertion ended the test early. */
static void stop_server(void) {
    if (pg_dir[0]) pg("stop");
}

Test(db_fault, postgres_down_and_back, .fini = stop_server) {
    pg_start();
    chopin_config cfg;
    chopin_config_defaults(&cfg);
    cfg.access_log = false;
    cfg.port = 0;
    cfg.workers = 2;
    cfg.database_pool_size = 3;
    snprintf(cfg.database_url, sizeof cfg.database_url, "%s", pg_url);
    chopin_app *app = chopin_app_new_with(&cfg);
    chopin_get(app, "/q", query);
    cr_assert_eq(chopin_app_start(app), 0);
    int port = chopin_app_port(app);

    enum { CLIENTS = 4 };
    load l = {.port = port};
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) pthread_create(&th[i], NULL, hammer, &l);
    usleep(500 * 1000);
    int ok_before = atomic_load(&l.ok);
    cr_assert_gt(ok_before, 0, "requests succeed before the outage");
    cr_assert_eq(atomic_load(&l.unavailable), 0);

    pg("halt");
    usleep(1000 * 1000);
    int unavailable = atomic_load(&l.unavailable), ok_during = atomic_load(&l.ok);
    cr_assert_gt(unavailable, 10, "503s while PostgreSQL is down (got %d)", unavailable);

    pg("resume");
    /* Recovery: within a few seconds every request succeeds again. */
    int64_t t0 = now_ms();
    int64_t ms;
    int st = 0;
    while (now_ms() - t0 < 5000 && (st = get_status(port, &ms)) != 200) usleep(50 * 1000);
    cr_assert_eq(st, 200, "back without restarting Chopin");
    int64_t recovered_after = now_ms() - t0;
    int ok_after_start = atomic_load(&l.ok);
    usleep(500 * 1000);
    atomic_store(&l.stop, true);
    for (int i = 0; i < CLIENTS; i++) pthread_join(th[i], NULL);
    cr_assert_gt(atomic_load(&l.ok), ok_after_start + 10, "and keep succeeding");
    cr_assert_eq(atomic_load(&l.other), 0,
                 "only 200 and 503, never a hang or a crash: %d x status %d", atomic_load(&l.other),
                 atomic_load(&l.other_status));
    cr_assert_lt(atomic_load(&l.slowest_ms), 3000, "no request waited long (slowest %d ms)",
                 atomic_load(&l.slowest_ms));
    cr_log_info("fault: %d ok before, %d ok during, %d x 503, recovered %lld ms after restart, "
                "slowest request %d ms",
                ok_before, ok_during - ok_before, unavailable, (long long)recovered_after,
                atomic_load(&l.slowest_ms));
    chopin_app_stop(app);
    cr_assert_eq(chopin_app_wait(app), 0);
    chopin_app_free(app);
}
