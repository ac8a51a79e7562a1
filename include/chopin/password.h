/* chopin/password.h - password hashing with argon2id (libargon2), in PHC
 * strings ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash") that other argon2
 * implementations read and write too.
 *
 * Hashing is slow on purpose (OWASP's parameters: 19 MiB, 2 passes, 1 lane,
 * about 20-40 ms of one core). In a handler it runs on the offload pool
 * (chopin_offload), so a burst of logins never stalls a worker; elsewhere
 * (a detached context, start-up) it runs in the calling thread. */
#ifndef CHOPIN_PASSWORD_H
#define CHOPIN_PASSWORD_H

#include "ctx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The cost of a hash: memory in KiB, passes, lanes. */
typedef struct {
    uint32_t memory_kib;
    uint32_t iterations;
    uint32_t parallelism;
} chopin_password_params;

/* The parameters new hashes get (default: OWASP's 19456 KiB, 2, 1). Set
 * them once at start-up, before serving. */
void chopin_password_set_params(chopin_password_params p);
chopin_password_params chopin_password_get_params(void);

/* Enough for any PHC string this module makes. */
#define CHOPIN_PASSWORD_HASH_MAX 160

/* Hashes password (len bytes, any bytes) with a fresh random salt into out
 * (at least CHOPIN_PASSWORD_HASH_MAX bytes) as a NUL-terminated PHC string.
 * 0, or -1 (errno ECANCELED / ETIMEDOUT when the request ended meanwhile,
 * EINVAL for a password over 4 KiB, ENOMEM). */
int chopin_password_hash(chopin_ctx *c, const char *password, size_t len, char *out,
                         size_t out_len);

/* 1 when password matches the PHC string, 0 when it does not, -1 when the
 * string is not an argon2 hash this module accepts (or the request ended).
 * The comparison inside is constant-time. */
int chopin_password_verify(chopin_ctx *c, const char *phc, const char *password, size_t len);

/* Spends the time of a verification and returns 0: for an unknown user, so
 * that "no such user" and "wrong password" take as long. */
int chopin_password_verify_nobody(chopin_ctx *c, const char *password, size_t len);

/* True when the hash was made with other parameters (or another argon2
 * variant) than new hashes get: rehash it at the next successful login. */
bool chopin_password_needs_rehash(const char *phc);

#endif
