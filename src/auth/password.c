/* password.c - argon2id hashing and verification, off the worker threads.
 *
 * libargon2 does the work; this file picks the parameters, makes salts,
 * bounds what a stored hash may ask for (a hash with m=4 GiB would be a
 * denial of service), and runs both operations through chopin_offload. */
#include "chopin/password.h"

#include "chopin/async.h"

#include "../app/ctx_internal.h"

#include <argon2.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SALT_LEN     16
#define HASH_LEN     32
#define MAX_PASSWORD 4096
/* What a stored hash may ask for: generous, but bounded. */
#define MAX_MEMORY_KIB (1u << 20) /* 1 GiB */
#define MAX_ITERATIONS 64
#define MAX_LANES      16

static _Atomic uint32_t param_m = 19456, param_t = 2, param_p = 1;

void chopin_password_set_params(chopin_password_params p) {
    atomic_store(&param_m, p.memory_kib);
    atomic_store(&param_t, p.iterations);
    atomic_store(&param_p, p.parallelism);
}

chopin_password_params chopin_password_get_params(void) {
    return (chopin_password_params){atomic_load(&param_m), atomic_load(&param_t),
                                    atomic_load(&param_p)};
}

/* --- Running a job where it belongs ------------------------------------------------- */

typedef struct {
    const char *password;
    size_t len;
    const char *phc; /* verify */
    char *out;       /* hash */
    size_t out_len;
    chopin_password_params params;
    unsigned char salt[SALT_LEN];
    int rc; /* libargon2's */
} job;

static void hash_job(void *arg) {
    job *j = arg;
    j->rc =
        argon2id_hash_encoded(j->params.iterations, j->params.memory_kib, j->params.parallelism,
                              j->password, j->len, j->salt, SALT_LEN, HASH_LEN, j->out, j->out_len);
}

static void verify_job(void *arg) {
    job *j = arg;
    j->rc = argon2id_verify(j->phc, j->password, j->len);
}

/* On the offload pool when c is a request's context, here otherwise. */
static int run(chopin_ctx *c, void (*fn)(void *), job *j) {
    if (c && c->task) return chopin_offload(c, fn, j);
    fn(j);
    return 0;
}

/* --- Hashing ---------------------------------------------------------------------------- */

int chopin_password_hash(chopin_ctx *c, const char *password, size_t len, char *out,
                         size_t out_len) {
    job j = {.password = password,
             .len = len,
             .out = out,
             .out_len = out_len,
             .params = chopin_password_get_params()};
    if (len > MAX_PASSWORD || !out) {
        errno = EINVAL;
        return -1;
    }
    if (getrandom(j.salt, SALT_LEN, 0) != SALT_LEN) return -1;
    if (run(c, hash_job, &j)) return -1;
    if (j.rc != ARGON2_OK) {
        errno = j.rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ENOMEM : EINVAL;
        return -1;
    }
    return 0;
}

/* --- Reading a stored hash ------------------------------------------------------------------ */

/* "$argon2id$v=19$m=19456,t=2,p=1$..." -> its parameters; false for
 * anything else (another variant, another version, out of bounds). */
static bool parse_params(const char *phc, chopin_password_params *p) {
    unsigned m, t, lanes;
    int used = 0;
    if (!phc || sscanf(phc, "$argon2id$v=19$m=%u,t=%u,p=%u$%n", &m, &t, &lanes, &used) != 3 ||
        !used)
        return false;
    if (m < 8 || m > MAX_MEMORY_KIB || t < 1 || t > MAX_ITERATIONS || lanes < 1 ||
        lanes > MAX_LANES)
        return false;
    *p = (chopin_password_params){m, t, lanes};
    return true;
}

bool chopin_password_needs_rehash(const char *phc) {
    chopin_password_params have, want = chopin_password_get_params();
    return !parse_params(phc, &have) || have.memory_kib != want.memory_kib ||
           have.iterations != want.iterations || have.parallelism != want.parallelism;
}

int chopin_password_verify(chopin_ctx *c, const char *phc, const char *password, size_t len) {
    chopin_password_params p;
    if (!parse_params(phc, &p) || len > MAX_PASSWORD) {
        errno = EINVAL;
        return -1;
    }
    job j = {.password = password, .len = len, .phc = phc};
    if (run(c, verify_job, &j)) return -1;
    if (j.rc == ARGON2_OK) return 1;
    if (j.rc == ARGON2_VERIFY_MISMATCH) return 0;
    errno = EINVAL;
    return -1;
}

/* --- Unknown users -----------------------------------------------------------------------------
 */

static pthread_mutex_t nobody_mu = PTHREAD_MUTEX_INITIALIZER;
static char nobody_hash[CHOPIN_PASSWORD_HASH_MAX];

int chopin_password_verify_nobody(chopin_ctx *c, const char *password, size_t len) {
    /* A hash made with today's parameters, once: verifying against it costs
     * what a real user's verification costs. */
    char phc[CHOPIN_PASSWORD_HASH_MAX];
    pthread_mutex_lock(&nobody_mu);
    if (chopin_password_needs_rehash(nobody_hash)) nobody_hash[0] = 0;
    memcpy(phc, nobody_hash, sizeof phc);
    pthread_mutex_unlock(&nobody_mu);
    if (!phc[0]) {
        if (chopin_password_hash(c, "no such user", 12, phc, sizeof phc)) return -1;
        pthread_mutex_lock(&nobody_mu);
        memcpy(nobody_hash, phc, sizeof phc);
        pthread_mutex_unlock(&nobody_mu);
    }
    return chopin_password_verify(c, phc, password, len) < 0 ? -1 : 0;
}
