/* metrics.c - request counters and latency histograms per route, for GET
 * /metrics in the Prometheus text format (version 0.0.4).
 *
 * Each worker writes only its own slot, with plain relaxed loads and
 * stores (no locked instructions on the request path); the /metrics handler
 * reads every slot and sums. A slot holds one row per route and one per
 * method for requests no route matched. */
#include "app_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define STATUS_SLOTS 16 /* per route: 15 distinct statuses, then "other" */
#define STATUS_OTHER 1  /* the last slot's status: any status past the first 15 */

/* Upper bounds in microseconds; the +Inf bucket is the count. */
static const uint64_t bucket_us[] = {500,    1000,   2500,   5000,    10000,   25000,   50000,
                                     100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define NUM_BUCKETS (sizeof bucket_us / sizeof bucket_us[0])

typedef struct {
    uint32_t status[STATUS_SLOTS];
    uint64_t count[STATUS_SLOTS];
    uint64_t bucket[NUM_BUCKETS]; /* not cumulative: the exposition sums them */
    uint64_t requests;
    uint64_t sum_us;
} route_row;

struct app_metrics {
    size_t slots;     /* 1 for the test client's worker, then one per server worker */
    size_t rows;      /* routes, then one per method for unmatched requests */
    route_row *table; /* slots * rows */
    time_t started;
};

#define LOAD(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, by) __atomic_store_n(&(x), LOAD(x) + (by), __ATOMIC_RELAXED)

app_metrics *metrics_new(size_t num_routes, int workers) {
    app_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (workers <= 0) workers = server_default_workers();
    m->slots = 1 + (size_t)workers;
    m->rows = num_routes + CHOPIN_METHOD_COUNT;
    m->table = calloc(m->slots * m->rows, sizeof *m->table);
    if (!m->table) {
        free(m);
        return NULL;
    }
    m->started = time(NULL);
    return m;
}

void metrics_free(app_metrics *m) {
    if (!m) return;
    free(m->table);
    free(m);
}

void metrics_record(app_metrics *m, int slot, size_t row, int status, uint64_t dur_us) {
    if (!m || slot < 0 || (size_t)slot >= m->slots || row >= m->rows) return;
    route_row *r = &m->table[(size_t)slot * m->rows + row];
    size_t i = 0;
    while (i < STATUS_SLOTS - 1 && r->status[i] && r->status[i] != (uint32_t)status) i++;
    if (i == STATUS_SLOTS - 1) status = STATUS_OTHER;
    if (!r->status[i]) __atomic_store_n(&r->status[i], (uint32_t)status, __ATOMIC_RELAXED);
    BUMP(r->count[i], 1);
    size_t b = 0;
    while (b < NUM_BUCKETS && dur_us > bucket_us[b]) b++;
    if (b < NUM_BUCKETS) BUMP(r->bucket[b], 1);
    BUMP(r->sum_us, dur_us);
    BUMP(r->requests, 1); /* last: a reader never sees more requests than buckets */
}

/* --- Exposition ---------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} text;

static void out(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->data ? t->data + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 16384;
        while (cap - t->len <= (size_t)n) cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
}

/* Label values escape backslash, quote and newline (the format's rule). */
static const char *label(const char *s, char *buf, size_t len) {
    size_t n = 0;
    for (; *s && n + 2 < len; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') buf[n++] = '\\';
        buf[n++] = *s == '\n' ? 'n' : *s;
    }
    buf[n] = 0;
    return buf;
}

static void sum_row(const app_metrics *m, size_t row, route_row *total) {
    memset(total, 0, sizeof *total);
    for (size_t s = 0; s < m->slots; s++) {
        const route_row *r = &m->table[s * m->rows + row];
        total->requests += LOAD(r->requests);
        total->sum_us += LOAD(r->sum_us);
        for (size_t b = 0; b < NUM_BUCKETS; b++) total->bucket[b] += LOAD(r->bucket[b]);
        for (size_t i = 0; i < STATUS_SLOTS; i++) {
            uint32_t st = LOAD(r->status[i]);
            if (!st) break;
            size_t j = 0;
            if (st != STATUS_OTHER)
                while (j < STATUS_SLOTS - 1 && total->status[j] && total->status[j] != st) j++;
            if (st == STATUS_OTHER || j == STATUS_SLOTS - 1) { /* one "other", always last */
                j = STATUS_SLOTS - 1;
                st = STATUS_OTHER;
            }
            total->status[j] = st;
            total->count[j] += LOAD(r->count[i]);
        }
    }
}

static void row_labels(const chopin_app *app, size_t row, char *buf, size_t len) {
    char esc[600];
    if (row < app->num_routes) {
        const route_entry *e = app->routes[row];
        snprintf(buf, len, "method=\"%s\",route=\"%s\"", chopin_method_name(e->method),
                 label(e->pattern, esc, sizeof esc));
    } else {
        snprintf(buf, len, "method=\"%s\",route=\"\"",
                 chopin_method_name((chopin_method)(row - app->num_routes)));
    }
}

static void write_requests(text *t, const chopin_app *app, const route_row *totals) {
    out(t, "# HELP chopin_http_requests_total Requests answered, by route pattern and status "
           "(route \"\": no route matched).\n# TYPE chopin_http_requests_total counter\n");
    char labels[700];
    for (size_t row = 0; row < app->metrics->rows; row++) {
        row_labels(app, row, labels, sizeof labels);
        for (size_t i = 0; i < STATUS_SLOTS; i++) {
            if (!totals[row].status[i]) continue;
            char status[16];
            if (totals[row].status[i] == STATUS_OTHER)
                snprintf(status, sizeof status, "other");
            else
                snprintf(status, sizeof status, "%u", totals[row].status[i]);
            out(t, "chopin_http_requests_total{%s,status=\"%s\"} %llu\n", labels, status,
                (unsigned long long)totals[row].count[i]);
        }
    }
}

static void write_durations(text *t, const chopin_app *app, const route_row *totals) {
    out(t, "# HELP chopin_http_request_duration_seconds Time from the parsed request (before "
           "middleware and routing) to its answer, by route pattern.\n"
           "# TYPE chopin_http_request_duration_seconds histogram\n");
    char labels[700];
    for (size_t row = 0; row < app->metrics->rows; row++) {
        const route_row *r = &totals[row];
        if (!r->requests) continue;
        row_labels(app, row, labels, sizeof labels);
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NUM_BUCKETS; b++) {
            cumulative += r->bucket[b];
            out(t, "chopin_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", labels,
                (double)bucket_us[b] / 1e6, (unsigned long long)cumulative);
        }
        /* A request recorded between the loads above lands in both or
         * neither: requests is read first, so +Inf >= every bucket holds. */
        uint64_t count = r->requests > cumulative ? r->requests : cumulative;
        out(t, "chopin_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", labels,
            (unsigned long long)count);
        out(t, "chopin_http_request_duration_seconds_sum{%s} %.6f\n", labels,
            (double)r->sum_us / 1e6);
        out(t, "chopin_http_request_duration_seconds_count{%s} %llu\n", labels,
            (unsigned long long)count);
    }
}

static void write_gauges(text *t, chopin_app *app) {
    size_t conns = 0, in_flight = 0;
    int workers = app->running ? app->srv.num_workers : 0;
    for (int i = 0; i < workers; i++) {
        conns += __atomic_load_n(&app->srv.workers[i].num_conns, __ATOMIC_RELAXED);
        in_flight += __atomic_load_n(&app->srv.workers[i].tasks_live, __ATOMIC_RELAXED);
    }
    out(t,
        "# HELP chopin_http_connections Open client connections.\n"
        "# TYPE chopin_http_connections gauge\nchopin_http_connections %zu\n",
        conns);
    out(t,
        "# HELP chopin_http_requests_in_flight Requests being handled.\n"
        "# TYPE chopin_http_requests_in_flight gauge\nchopin_http_requests_in_flight %zu\n",
        in_flight);
    out(t,
        "# HELP chopin_workers Worker threads serving requests.\n"
        "# TYPE chopin_workers gauge\nchopin_workers %d\n",
        workers);
    out(t,
        "# HELP chopin_start_time_seconds When the process started serving, Unix time.\n"
        "# TYPE chopin_start_time_seconds gauge\nchopin_start_time_seconds %lld\n",
        (long long)app->metrics->started);
}

static void metrics_handler(chopin_ctx *c) {
    chopin_app *app = c->app;
    app_metrics *m = app->metrics;
    route_row *totals = calloc(m->rows, sizeof *totals);
    text t = {0};
    if (totals) {
        /* Requests first, then the rest: a row's counts never exceed a
         * later read of the same row. */
        for (size_t row = 0; row < m->rows; row++) sum_row(m, row, &totals[row]);
        write_requests(&t, app, totals);
        write_durations(&t, app, totals);
        write_gauges(&t, app);
    }
    if (!totals || t.failed)
        chopin_error(c, 500, "INTERNAL", "out of memory");
    else
        chopin_send(c, 200, "text/plain; version=0.0.4; charset=utf-8", t.data, t.len);
    free(t.data);
    free(totals);
}

void metrics_mount(chopin_app *app) {
    if (!app->cfg.metrics) return;
    app_add_route(app, NULL, CHOPIN_GET, "/metrics", metrics_handler,
                  &(chopin_route_options){.hidden = true});
}
