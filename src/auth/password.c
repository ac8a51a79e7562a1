/* password.c - argon2id hashing and verification, off the worker threads.
 *
 * libargon2 does the work; this file picks the parameters, makes salts,
 * reads and writes the PHC strings, bounds what a stored hash may ask for
 * (a hash with m=4 GiB would be a denial of service), gives libargon2 its
 * work area (below) and runs both operations through chopin_offload. */
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
#include <sys/mman.h>
#include <sys/random.h>

#define SALT_LEN     16
#define HASH_LEN     32
#define MAX_PASSWORD 4096
/* What a stored hash may ask for: generous, but bounded. */
#define MAX_MEMORY_KIB (1u << 20) /* 1 GiB */
#define MAX_ITERATIONS 64
#define MAX_LANES      16
/* The longest salt and hash a stored string may carry (other tools make
 * 16 and 32 bytes, like this module). */
#define MAX_SALT_BYTES 64
#define MAX_HASH_BYTES 64

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

/* --- The work area ------------------------------------------------------------------------
 *
 * Each hash needs memory_kib of memory (19 MiB by default). Left to
 * libargon2, that is a malloc and a free per hash, and glibc's malloc does
 * two things with a free of that size: the block stays in the offload
 * thread's arena (19 MiB of RSS per offload thread, kept for good), and,
 * worse, it raises the process-wide mmap threshold to 19 MiB and the trim
 * threshold to 38 MiB, so that every arena (the workers' too) keeps the
 * freed memory of everything under 19 MiB instead of unmapping or trimming
 * it: their RSS creeps up for hours. bench/soak.sh saw it as 2-3% growth in
 * a few minutes. So the work area is mapped here, outside malloc: up to
 * WORK_CACHED areas are kept for the next hashes (a pair of logins costs
 * no page faults), any more are unmapped as soon as their hash is done.
 * libargon2 wipes an area before it comes back. */

#define WORK_CACHED 2

typedef struct {
    uint8_t *memory;
    size_t size;
} work_area;

static pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;
static work_area work_cache[WORK_CACHED];
static size_t work_cached;

/* libargon2 ignores the result and checks *memory for NULL. */
static int work_take(uint8_t **memory, size_t size) {
    pthread_mutex_lock(&work_mu);
    for (size_t i = 0; i < work_cached; i++)
        if (work_cache[i].size == size) {
            *memory = work_cache[i].memory;
            work_cache[i] = work_cache[--work_cached];
            pthread_mutex_unlock(&work_mu);
            return ARGON2_OK;
        }
    pthread_mutex_unlock(&work_mu);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *memory = p == MAP_FAILED ? NULL : p;
    return *memory ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

static void work_give_back(uint8_t *memory, size_t size) {
    pthread_mutex_lock(&work_mu);
    if (work_cached < WORK_CACHED) {
        work_cache[work_cached++] = (work_area){memory, size};
        memory = NULL;
    }
    pthread_mutex_unlock(&work_mu);
    if (memory) munmap(memory, size);
}

/* --- PHC strings ------------------------------------------------------------------------
 *
 * "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", salt and hash in
 * unpadded standard base64: what libargon2's own encoder writes, byte for
 * byte (it has no public encoder for a hash made with argon2_ctx). */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends n bytes in base64 to out (NUL-terminated); false when it does not fit. */
static bool b64_put(char *out, size_t out_len, size_t *pos, const uint8_t *in, size_t n) {
    size_t need = (n * 4 + 2) / 3;
    if (*pos + need + 1 > out_len) return false;
    char *o = out + *pos;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | in[i];
        bits += 8;
        while (bits >= 6) *o++ = b64_alphabet[(acc >> (bits -= 6)) & 63];
    }
    if (bits) *o++ = b64_alphabet[(acc << (6 - bits)) & 63];
    *o = 0;
    *pos += need;
    return true;
}

static int b64_value(char ch) {
    const char *at = ch ? strchr(b64_alphabet, ch) : NULL;
    return at ? (int)(at - b64_alphabet) : -1;
}

/* Decodes s up to the first character outside the alphabet (*end is left
 * there) into out; the number of bytes, or -1 when they would not fit or
 * the text is not canonical (leftover bits not zero, as libargon2 says). */
static long b64_get(const char *s, const char **end, uint8_t *out, size_t max) {
    uint32_t acc = 0;
    int bits = 0, v;
    size_t n = 0;
    for (; (v = b64_value(*s)) >= 0; s++) {
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            if (n == max) return -1;
            out[n++] = (uint8_t)(acc >> (bits -= 8));
        }
    }
    *end = s;
    if (bits > 4 || (acc & ((1u << bits) - 1))) return -1;
    return (long)n;
}

/* A decimal uint32 (no sign, no spaces); the text after it, or NULL. */
static const char *get_u32(const char *s, uint32_t *out) {
    uint64_t v = 0;
    const char *start = s;
    for (; *s >= '0' && *s <= '9' && s - start < 10; s++) v = v * 10 + (uint64_t)(*s - '0');
    if (s == start || (*s >= '0' && *s <= '9') || v > UINT32_MAX) return NULL;
    *out = (uint32_t)v;
    return s;
}

/* "$argon2id$v=19$m=M,t=T,p=P$": its parameters, within the bounds above,
 * and where the salt starts; NULL for anything else (another variant,
 * another version, out of bounds). */
static const char *parse_params(const char *phc, chopin_password_params *p) {
    static const char prefix[] = "$argon2id$v=19$m=";
    if (!phc || strncmp(phc, prefix, sizeof prefix - 1)) return NULL;
    uint32_t m, t, lanes;
    const char *s = get_u32(phc + sizeof prefix - 1, &m);
    if (!s || strncmp(s, ",t=", 3) || !(s = get_u32(s + 3, &t)) || strncmp(s, ",p=", 3) ||
        !(s = get_u32(s + 3, &lanes)) || *s != '$')
        return NULL;
    if (m < 8 || m > MAX_MEMORY_KIB || t < 1 || t > MAX_ITERATIONS || lanes < 1 ||
        lanes > MAX_LANES)
        return NULL;
    *p = (chopin_password_params){m, t, lanes};
    return s + 1;
}

/* --- Running a job where it belongs ------------------------------------------------- */

typedef struct {
    const char *password;
    size_t len;
    chopin_password_params params;
    uint8_t salt[MAX_SALT_BYTES];
    size_t salt_len;
    uint8_t hash[MAX_HASH_BYTES]; /* hash: made; verify: the stored one */
    size_t hash_len;
    int rc; /* libargon2's */
} job;

/* Hashes into out; when verifying, compares out with the stored hash too
 * (in constant time) and says so in rc. */
static void run_argon2(job *j, uint8_t *out, bool verify) {
    argon2_context ctx = {.out = out,
                          .outlen = (uint32_t)j->hash_len,
                          .pwd = (uint8_t *)(uintptr_t)j->password, /* only read */
                          .pwdlen = (uint32_t)j->len,
                          .salt = j->salt,
                          .saltlen = (uint32_t)j->salt_len,
                          .t_cost = j->params.iterations,
                          .m_cost = j->params.memory_kib,
                          .lanes = j->params.parallelism,
                          .threads = j->params.parallelism,
                          .version = ARGON2_VERSION_13,
                          .allocate_cbk = work_take,
                          .free_cbk = work_give_back,
                          .flags = ARGON2_DEFAULT_FLAGS};
    j->rc = verify ? argon2id_verify_ctx(&ctx, (const char *)j->hash) : argon2_ctx(&ctx, Argon2_id);
}

static void hash_job(void *arg) {
    job *j = arg;
    run_argon2(j, j->hash, false);
}

static void verify_job(void *arg) {
    job *j = arg;
    uint8_t made[MAX_HASH_BYTES];
    run_argon2(j, made, true);
    explicit_bzero(made, sizeof made);
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
             .params = chopin_password_get_params(),
             .salt_len = SALT_LEN,
             .hash_len = HASH_LEN};
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
    int n = snprintf(out, out_len, "$argon2id$v=19$m=%u,t=%u,p=%u$", j.params.memory_kib,
                     j.params.iterations, j.params.parallelism);
    size_t pos = n > 0 ? (size_t)n : 0;
    if (n < 0 || pos >= out_len || !b64_put(out, out_len, &pos, j.salt, SALT_LEN) ||
        pos + 1 >= out_len || (out[pos++] = '$', !b64_put(out, out_len, &pos, j.hash, HASH_LEN))) {
        if (out_len) out[0] = 0;
        errno = EINVAL; /* out is too small */
        return -1;
    }
    return 0;
}

/* --- Reading a stored hash ------------------------------------------------------------------ */

bool chopin_password_needs_rehash(const char *phc) {
    chopin_password_params have, want = chopin_password_get_params();
    return !parse_params(phc, &have) || have.memory_kib != want.memory_kib ||
           have.iterations != want.iterations || have.parallelism != want.parallelism;
}

int chopin_password_verify(chopin_ctx *c, const char *phc, const char *password, size_t len) {
    job j = {.password = password, .len = len};
    const char *s = parse_params(phc, &j.params);
    long salt_len = s ? b64_get(s, &s, j.salt, sizeof j.salt) : -1;
    long hash_len = salt_len >= 0 && *s == '$' ? b64_get(s + 1, &s, j.hash, sizeof j.hash) : -1;
    if (hash_len < 0 || *s || len > MAX_PASSWORD) { /* *s: text after the hash */
        errno = EINVAL;
        return -1;
    }
    j.salt_len = (size_t)salt_len;
    j.hash_len = (size_t)hash_len;
    if (run(c, verify_job, &j)) return -1;
    if (j.rc == ARGON2_OK) return 1;
    if (j.rc == ARGON2_VERIFY_MISMATCH) return 0;
    errno = EINVAL; /* a salt or hash too short for libargon2, say */
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
