/* chopin/upload.h - file uploads, streamed to storage as they arrive.
 *
 *   static void upload_avatar(chopin_ctx *c) {
 *       chopin_upload *up = chopin_upload_receive(c, &(chopin_upload_options){
 *           .max_files = 1, .allowed_types = "image/png,image/jpeg"});
 *       if (!up) return;                       // 400 / 413 / 415 / 422 answered
 *       ... up->files[0].stored_name, .size, .sha256, .content_type ...
 *   }
 *   chopin_post_with(app, "/avatars", upload_avatar, .stream_body = true);
 *
 * The route streams its body (.stream_body, chopin/app.h): a
 * multipart/form-data body (RFC 7578) is parsed as it arrives, each file part
 * written to a temporary file under UPLOAD_DIR as it comes and renamed into
 * place once complete, so memory stays at a few buffers whatever the size.
 * Any other Content-Type is one file: the body itself
 * (application/octet-stream uploads). Text fields bind into a model.
 *
 * Stored files are named by Chopin (a random UUID and an extension from the
 * client's name when it is a short alphanumeric one), never by the client;
 * the client's name is kept, sanitized, as metadata. The type is sniffed from
 * the first bytes (libmagic), not taken from the client. When anything fails
 * (a limit, a disallowed type, bad framing, the client going away) nothing of
 * the request is kept: temporary and already stored files are removed. */
#ifndef CHOPIN_UPLOAD_H
#define CHOPIN_UPLOAD_H

#include "ctx.h"

typedef struct chopin_model chopin_model;

typedef struct {
    const char *field;         /* the form field ("" for a whole-body upload) */
    const char *original_name; /* the client's file name, sanitized; "" when none */
    const char *stored_name;   /* "<uuid>.<ext>", under UPLOAD_DIR (and .subdir) */
    const char *path;          /* where it is: UPLOAD_DIR/<subdir>/<stored_name>, or with S3_BUCKET
                                  the object's key ("<S3_PREFIX>/<subdir>/<stored_name>") */
    const char *url;           /* S3_PUBLIC_URL/<key> when set; else NULL (see chopin_upload_url) */
    bool remote;               /* in S3-compatible storage */
    const char *content_type;  /* sniffed from the content ("image/png") */
    uint64_t size;
    char sha256[65]; /* hex */
} chopin_upload_file;

typedef struct {
    uint64_t max_file_bytes;   /* each file; 0: no limit of its own (the route's body limit) */
    size_t max_files;          /* 0: 10 */
    size_t max_fields;         /* text fields; 0: 100 */
    size_t max_field_bytes;    /* each text field; 0: 64 KiB */
    const char *allowed_types; /* sniffed types, comma-separated ("image/png,application/pdf"; a
                                  type "image" then "/" and a star takes the family); NULL: any */
    const char *allowed_extensions; /* of the client's name: ".png,.jpg"; NULL: any */
    const chopin_model *fields;     /* the text fields bind into it (422 listing every problem) */
    const char *subdir;             /* a folder under UPLOAD_DIR ("avatars"); NULL: none */
} chopin_upload_options;

/* A text field of the form, as sent. */
typedef struct {
    const char *name;
    const char *value; /* NUL-terminated; len counts every byte */
    size_t len;
} chopin_upload_value;

typedef struct {
    chopin_upload_file *files; /* in the request arena */
    size_t count;
    void *fields;                      /* the .fields model's struct, or NULL */
    const chopin_upload_value *values; /* every text field, with or without .fields */
    size_t num_values;
} chopin_upload;

/* Reads the request's body and stores its files. NULL when it answered:
 * 400 (malformed body), 413 (a file, a field or the whole body too large,
 * too many files or fields), 422 (a type or extension not allowed, or the
 * fields' model; every problem listed). */
chopin_upload *chopin_upload_receive(chopin_ctx *c, const chopin_upload_options *opts);

/* Removes a stored file (say, when the database insert that records it
 * failed). 0, or -1 with errno. */
int chopin_upload_remove(chopin_ctx *c, const chopin_upload_file *f);

/* A URL to GET a file stored in S3 with for expires_s seconds (a presigned
 * URL, SigV4), in the arena; NULL for a local file or on failure. */
char *chopin_upload_url(chopin_ctx *c, const char *key, int expires_s);

#endif
