/* hostile.h - what the hostile HTTP suites share (test_hostile.c: the
 * request table; test_hostile_sockets.c: slow, half-closed, aborted and
 * flooding clients): the server under test, the well-behaved client that
 * runs through every test, and the checks every test ends with.
 *
 * Every test runs the well-behaved client meanwhile, on the same worker (one
 * worker, so the hostile traffic and it share one event loop): GET
 * /hello/gN on keep-alive in a loop, a fresh connection every 100 requests.
 * At the end of each test it must have had no failure, the server must still
 * answer, its descriptors must be back to where they were (no leaked
 * socket), its memory must not have grown past a bound (RSS_GROWTH_KIB,
 * LEAK_SLACK_KIB), and it must exit 0 on SIGTERM (in the sanitizer build
 * that is also LeakSanitizer's verdict). */
#ifndef CHOPIN_TEST_HOSTILE_H
#define CHOPIN_TEST_HOSTILE_H

#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* One worker: the hostile clients and the well-behaved one share its loop.
 * Short timeouts so that the tests which wait for them stay short. */
#define HEADER_TIMEOUT_MS 3000
#define BODY_TIMEOUT_MS   1000
#define WRITE_TIMEOUT_MS  1000

/* The ceiling on how much the server's RSS may grow over a test, from its
 * value after a warm-up that made it allocate what a normal run does (its
 * buffer pool, one 4 MiB /big response, an error). What may legitimately
 * remain: freed memory glibc keeps (its mmap threshold rises to the largest
 * block freed, so large response buffers are reused from the heap rather
 * than unmapped: about 6 MiB after the tests with large answers), the
 * worker's pool of free 16 KiB buffers and up to 1024 recycled connection
 * structures. 24 MiB is several times what was measured (at most 6 MiB) and
 * far below what an unbounded buffer would take (the slow reader's 80 MiB).
 * Leaks are looked for more finely with LEAK_SLACK_KIB. */
#define RSS_GROWTH_KIB (24 * 1024)

typedef struct {
    int port;
    pthread_t thread;
    atomic_bool stop;
    atomic_long ok, failed, max_ms;
    atomic_bool have_failure;
    char failure[512]; /* the first failure, written once */
} good_client;

typedef struct {
    h_server *s;
    good_client good;
    int fd0;
    long rss0;
    long rss_mid; /* after a first pass of a test's hostile traffic; 0 if none */
} fixture;

/* The server's open descriptors, and their count once it stops changing
 * (connections the test closed are closed on the server's side a moment
 * later). */
int count_fds(const h_server *s);
int settled_fds(const h_server *s, int at_most, int timeout_ms);
/* The demo's greeting for name, as GET /hello/NAME answers it. */
void hello_body(char *out, size_t size, const char *name);
/* GET /hello/NAME on a connection of its own: asserted 200 with its greeting. */
h_response *get_ok(int port, const char *name);

/* A server with its baseline (descriptors, RSS after a warm-up) and the
 * well-behaved client running. */
void fixture_start(fixture *f);
/* The end of a test's first pass: its traffic is repeated after this, and
 * the repetition must not grow the server's memory (LEAK_SLACK_KIB). */
void fixture_mark(fixture *f);
/* The checks every test ends with; stops the server. */
void fixture_finish(fixture *f);

#endif
