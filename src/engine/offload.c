/* offload.c - the thread pool behind chopin_offload().
 *
 * Workers hand jobs to the pool through one mutex-protected queue (offloaded
 * work is blocking or CPU-heavy by definition: the queue is never the hot
 * path). A finished job goes back to the worker that sent it through that
 * worker's own completion list and eventfd, and the worker resumes the
 * handler's coroutine on its own thread. */
#include "engine.h"

#include <sys/resource.h>
#include <sys/syscall.h>

/* How much lower than the workers the pool threads run (nice 0..19). */
#define OFFLOAD_NICE 10

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct offload_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    offload_job *head, *tail;
    size_t queued, max_queued; /* jobs waiting for a thread, and how many may */
    bool stopping;
    int num_threads;
    pthread_t threads[];
};

/* worker.c owns the worker's side; the pool only needs this much of it. */
static void complete(offload_job *job) {
    worker *w = job->owner->w;
    pthread_mutex_lock(&w->done_mu);
    job->next = w->done_jobs;
    w->done_jobs = job;
    pthread_mutex_unlock(&w->done_mu);
    uint64_t one = 1;
    ssize_t ignored = write(w->wake_fd, &one, sizeof one);
    (void)ignored;
}

static void *pool_main(void *arg) {
    offload_pool *p = arg;
    /* Below the workers: when hashing and the like fill every core, the
     * scheduler still runs the workers first, so requests that do not
     * wait for the pool keep their latency. (Raising a nice value needs no
     * privilege; a failure just leaves the default.) */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), OFFLOAD_NICE);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stopping) pthread_cond_wait(&p->cv, &p->mu);
        offload_job *job = p->head;
        if (job) {
            p->head = job->next;
            if (!p->head) p->tail = NULL;
            p->queued--;
        }
        pthread_mutex_unlock(&p->mu);
        if (!job) return NULL; /* stopping and drained */
        job->fn(job->arg);
        complete(job);
    }
}

offload_pool *offload_pool_new(int threads, size_t max_queued) {
    if (threads < 1) threads = 1;
    offload_pool *p = calloc(1, sizeof *p + (size_t)threads * sizeof(pthread_t));
    if (!p) return NULL;
    p->max_queued = max_queued ? max_queued : OFFLOAD_DEFAULT_QUEUE;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* Pool threads never take the termination signals: those go to the app. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p)) break;
        p->num_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!p->num_threads) {
        free(p);
        return NULL;
    }
    return p;
}

void offload_pool_free(offload_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->num_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int offload_submit(offload_pool *p, offload_job *job) {
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->queued >= p->max_queued) { /* saturated: refuse now rather than answer late */
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* The queue is short and a recall is rare (a deadline or a disconnect):
 * a walk under the lock costs less than a doubly-linked queue everywhere. */
bool offload_recall(offload_pool *p, offload_job *job) {
    bool found = false;
    pthread_mutex_lock(&p->mu);
    for (offload_job **at = &p->head, *prev = NULL; *at; prev = *at, at = &(*at)->next) {
        if (*at != job) continue;
        *at = job->next;
        if (p->tail == job) p->tail = prev;
        p->queued--;
        found = true;
        break;
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}
