/* timer.c - a binary min-heap of one-shot timers per worker.
 *
 * Connection timeouts have one duration per kind and live in sorted lists
 * (see timeout_kind); timers of arbitrary length (sleeps, waits, request
 * deadlines) live here. The worker's loop sleeps until the earliest of both. */
#include "engine.h"

#include <stdlib.h>

static void swap(timer_heap *h, size_t a, size_t b) {
    chopin_timer *t = h->items[a];
    h->items[a] = h->items[b];
    h->items[b] = t;
    h->items[a]->heap_index = a;
    h->items[b]->heap_index = b;
}

static void sift_up(timer_heap *h, size_t i) {
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->at <= h->items[i]->at) break;
        swap(h, i, parent);
        i = parent;
    }
}

static void sift_down(timer_heap *h, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < h->count && h->items[l]->at < h->items[min]->at) min = l;
        if (r < h->count && h->items[r]->at < h->items[min]->at) min = r;
        if (min == i) return;
        swap(h, i, min);
        i = min;
    }
}

int timer_add(timer_heap *h, chopin_timer *t, int64_t at) {
    if (t->armed) timer_cancel(h, t);
    if (h->count == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 64;
        chopin_timer **n = realloc(h->items, ncap * sizeof *n);
        if (!n) return -1;
        h->items = n;
        h->cap = ncap;
    }
    t->at = at;
    t->armed = true;
    t->heap_index = h->count;
    h->items[h->count++] = t;
    sift_up(h, t->heap_index);
    return 0;
}

void timer_cancel(timer_heap *h, chopin_timer *t) {
    if (!t->armed) return;
    size_t i = t->heap_index, last = --h->count;
    t->armed = false;
    if (i == last) return;
    h->items[i] = h->items[last];
    h->items[i]->heap_index = i;
    sift_down(h, i);
    sift_up(h, i);
}

chopin_timer *timer_pop_expired(timer_heap *h, int64_t now) {
    if (!h->count || h->items[0]->at > now) return NULL;
    chopin_timer *t = h->items[0];
    timer_cancel(h, t);
    return t;
}

int64_t timer_next(const timer_heap *h) {
    return h->count ? h->items[0]->at : -1;
}

void timer_heap_destroy(timer_heap *h) {
    free(h->items);
    h->items = NULL;
    h->count = h->cap = 0;
}
