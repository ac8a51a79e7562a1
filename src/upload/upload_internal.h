/* upload_internal.h - shared by the upload module's files. Internal. */
#ifndef CHOPIN_UPLOAD_INTERNAL_H
#define CHOPIN_UPLOAD_INTERNAL_H

#include "chopin/app.h"
#include "chopin/upload.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- local.c: files under UPLOAD_DIR ------------------------------------------
 *
 * A file is written to UPLOAD_DIR/.tmp/<random>.part (O_EXCL, 0600) in
 * batches of LOCAL_BATCH bytes, each written on the offload pool (disk writes
 * never block a worker), then renamed into UPLOAD_DIR/<subdir>/<name>. The
 * batch buffer starts at LOCAL_BATCH_FIRST and doubles as the file grows. */
#define LOCAL_BATCH       (1024 * 1024)
#define LOCAL_BATCH_FIRST (16 * 1024)

typedef struct local_file local_file;
/* NULL with errno when the folders cannot be made or the file opened. */
local_file *local_begin(chopin_ctx *c, const char *upload_dir);
/* Buffers data, writing full batches. 0, or -1 with errno (ENOSPC, EIO, or
 * the request's ECANCELED / ETIMEDOUT). */
int local_write(chopin_ctx *c, local_file *f, const char *data, size_t len);
/* Writes the rest and renames it to upload_dir/subdir/name; the final path
 * in the arena, or NULL with errno (the temporary file is then gone). */
const char *local_commit(chopin_ctx *c, local_file *f, const char *upload_dir, const char *subdir,
                         const char *name);
/* Writes what is buffered and gives the temporary file's descriptor (open
 * for reading too: an S3 upload reads it back), or -1 with errno. */
int local_flush_fd(chopin_ctx *c, local_file *f);
/* Removes the temporary file and frees f (also after a failed commit). */
void local_abort(chopin_ctx *c, local_file *f);
/* Temporary files older than max_age_s, left by a process that died. */
void local_clean_stale(const char *upload_dir, int max_age_s);

/* --- upload.c ------------------------------------------------------------------ */

#include "s3.h"
/* The S3_* settings as s3.c takes them. */
void upload_s3_config(const chopin_config *cfg, s3_config *s3);

/* --- sniff.c: what a file is, and its names ------------------------------------ */

/* The MIME type of a file from its first bytes (libmagic), in the arena;
 * "application/octet-stream" when it cannot tell. */
const char *sniff_type(chopin_ctx *c, const char *head, size_t len);
/* type is in the comma-separated list ("image/png", or a family: "image" + "/" + a star); NULL
 * list: yes. */
bool type_allowed(const char *list, const char *type);
/* The extension of name (".png", lowercased) is in the list; NULL list: yes. */
bool extension_allowed(const char *list, const char *name);
/* The client's name made safe to show and store as metadata: the last path
 * component, no control characters, no leading dots, at most 255 bytes
 * (whole UTF-8 characters). In the arena. */
char *sanitize_name(chopin_ctx *c, const char *name);
/* "<uuid>.<ext>" with ext from the client's name when it is 1-10 ASCII
 * letters and digits (lowercased), else "bin". In the arena. */
char *stored_name(chopin_ctx *c, const char *client_name);

#endif
