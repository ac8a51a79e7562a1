/* s3.h - objects in S3-compatible storage (s3.c). Internal to the upload
 * module. Every call may wait (on the handler's coroutine in a request,
 * blocking on a context of its own). */
#ifndef CHOPIN_UPLOAD_S3_H
#define CHOPIN_UPLOAD_S3_H

#include "chopin/ctx.h"

#include <stdint.h>

typedef struct {
    char bucket[256];            /* S3_BUCKET */
    char region[64];             /* S3_REGION, "us-east-1" */
    char endpoint[512];          /* S3_ENDPOINT ("http://127.0.0.1:4569"): path-style URLs; empty:
                                    AWS, https://<bucket>.s3.<region>.amazonaws.com */
    char access_key_id[128];     /* S3_ACCESS_KEY_ID */
    char secret_access_key[256]; /* S3_SECRET_ACCESS_KEY, never logged */
    char prefix[256];            /* S3_PREFIX, keys start with "<prefix>/" when set */
} s3_config;

/* Stores size bytes of fd (from offset 0) at key: one PUT, or a multipart
 * upload of 8 MiB parts above 16 MiB (aborted if a part fails). sha256 is
 * the content's hex SHA-256 (signed with a single PUT). 0, or -1. */
int s3_put_file(chopin_ctx *c, const s3_config *s3, const char *key, int fd, uint64_t size,
                const char *content_type, const char *sha256);
int s3_delete(chopin_ctx *c, const s3_config *s3, const char *key);
/* The HTTP status of a HEAD of key in *status (200, 404...). 0, or -1 when
 * the store could not be reached. */
int s3_head(chopin_ctx *c, const s3_config *s3, const char *key, long *status);
/* A URL anyone may GET key with for expires_s seconds; in the arena. */
char *s3_presign_get(chopin_ctx *c, const s3_config *s3, const char *key, int expires_s);

#endif
