/* upload.c - chopin_upload_receive: the body as it arrives, through the
 * multipart parser, into stored files and bound fields (contract in
 * chopin/upload.h). */
#include "upload_internal.h"

#include "multipart.h"
#include "s3.h"

#include "../app/app_internal.h"
#include "../model/model_internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#define READ_PIECE  (64 * 1024)
#define SNIFF_BYTES 4096 /* enough for libmagic to tell every common format */

/* The file being received. */
typedef struct {
    local_file *tmp;
    EVP_MD_CTX *sha;
    char sniff[SNIFF_BYTES];
    size_t sniffed;
    bool typed;   /* sniffed and allowed: writing */
    bool skipped; /* refused (type, extension): its bytes are read and dropped */
    chopin_upload_file info;
} file_in;

/* A text field being received. */
typedef struct {
    const char *name;
    chopin_buf value;
} field_in;

typedef struct {
    chopin_ctx *c;
    const chopin_upload_options *o;
    const char *upload_dir;
    const s3_config *s3; /* S3_BUCKET set: files go there */
    size_t max_files, max_fields, max_field_bytes;
    uint64_t max_file_bytes;
    /* What is kept. */
    chopin_upload_file *files;
    size_t num_files, cap_files;
    query_param *fields;
    size_t num_fields, cap_fields;
    /* The part now. */
    bool in_file, in_field;
    file_in file;
    field_in field;
    /* The answer when it failed. */
    int status;
    const char *code, *message;
    chopin_field_error *errors, **errors_tail;
} receiver;

static void fail(receiver *r, int status, const char *code, const char *message) {
    if (r->status) return; /* the first failure is the answer */
    r->status = status;
    r->code = code;
    r->message = message;
}

/* A problem with one field, listed in the 422 with the others. */
static void field_error(receiver *r, const char *field, const char *code, const char *message) {
    chopin_field_error *e = chopin_alloc(r->c, sizeof *e);
    if (!e) return;
    *e = (chopin_field_error){.field = field, .code = code, .message = message};
    *r->errors_tail = e;
    r->errors_tail = &e->next;
}

/* --- Files ----------------------------------------------------------------------- */

static int file_begin(receiver *r, const multipart_part *part) {
    if (r->num_files == r->max_files) {
        fail(r, 413, "TOO_MANY_FILES", "more files than this route takes");
        return -1;
    }
    file_in *f = &r->file;
    *f = (file_in){0};
    f->info.field = chopin_strdup(r->c, part->name, strlen(part->name));
    f->info.original_name = sanitize_name(r->c, part->filename);
    if (!f->info.field || !f->info.original_name) return fail(r, 500, NULL, NULL), -1;
    if (!extension_allowed(r->o->allowed_extensions, f->info.original_name)) {
        field_error(r, f->info.field, "extension", "this kind of file is not accepted here");
        f->skipped = true;
        return 0;
    }
    f->sha = EVP_MD_CTX_new();
    if (!f->sha || !EVP_DigestInit_ex(f->sha, EVP_sha256(), NULL))
        return fail(r, 500, NULL, NULL), -1;
    if (!(f->tmp = local_begin(r->c, r->upload_dir))) {
        fail(r, 500, "STORAGE", "the upload cannot be stored");
        return -1;
    }
    return 0;
}

/* Decides the type from the first bytes; refuses what is not allowed. */
static int file_typed(receiver *r) {
    file_in *f = &r->file;
    f->info.content_type = sniff_type(r->c, f->sniff, f->sniffed);
    if (!type_allowed(r->o->allowed_types, f->info.content_type)) {
        field_error(r, f->info.field, "type", "this type of file is not accepted here");
        f->skipped = true;
        local_abort(r->c, f->tmp);
        f->tmp = NULL;
        return 0;
    }
    f->typed = true;
    return local_write(r->c, f->tmp, f->sniff, f->sniffed);
}

static int file_data(receiver *r, const char *data, size_t len) {
    file_in *f = &r->file;
    f->info.size += len;
    if (f->info.size > r->max_file_bytes) {
        fail(r, 413, "FILE_TOO_LARGE", "a file is larger than this route takes");
        return -1;
    }
    if (f->skipped) return 0;
    EVP_DigestUpdate(f->sha, data, len);
    if (!f->typed) { /* gather the head to sniff */
        size_t n = SNIFF_BYTES - f->sniffed < len ? SNIFF_BYTES - f->sniffed : len;
        memcpy(f->sniff + f->sniffed, data, n);
        f->sniffed += n;
        data += n;
        len -= n;
        if (f->sniffed < SNIFF_BYTES) return 0;
        if (file_typed(r)) goto failed;
        if (f->skipped) return 0;
    }
    if (len && local_write(r->c, f->tmp, data, len)) goto failed;
    return 0;
failed:
    fail(r, errno == ENOSPC ? 507 : 500, "STORAGE", "the upload cannot be stored");
    return -1;
}

static bool push_file(receiver *r, const chopin_upload_file *info) {
    if (r->num_files == r->cap_files) {
        size_t cap = r->cap_files ? r->cap_files * 2 : 4;
        chopin_upload_file *grown = chopin_alloc(r->c, cap * sizeof *grown);
        if (!grown) return false;
        if (r->num_files) memcpy(grown, r->files, r->num_files * sizeof *grown);
        r->files = grown;
        r->cap_files = cap;
    }
    r->files[r->num_files++] = *info;
    return true;
}

/* The temporary file goes to the bucket as <subdir>/<stored name> and is
 * removed; the key (with S3_PREFIX) in the arena, or NULL. */
static const char *store_s3(receiver *r) {
    file_in *f = &r->file;
    const char *sub = r->o->subdir, *prefix = r->s3->prefix;
    size_t len = (sub ? strlen(sub) + 1 : 0) + strlen(f->info.stored_name) + 1;
    char *key = chopin_alloc(r->c, len);
    int fd = key ? local_flush_fd(r->c, f->tmp) : -1;
    if (fd >= 0) snprintf(key, len, "%s%s%s", sub ? sub : "", sub ? "/" : "", f->info.stored_name);
    bool ok = fd >= 0 && s3_put_file(r->c, r->s3, key, fd, f->info.size, f->info.content_type,
                                     f->info.sha256) == 0;
    local_abort(r->c, f->tmp);
    if (!ok) return NULL;
    f->info.remote = true;
    size_t flen = strlen(prefix) + len + 2;
    char *full = chopin_alloc(r->c, flen);
    if (full) snprintf(full, flen, "%s%s%s", prefix, prefix[0] ? "/" : "", key);
    const char *pub = r->c->cfg->s3_public_url;
    if (full && pub[0]) {
        size_t ulen = strlen(pub) + flen + 2;
        char *url = chopin_alloc(r->c, ulen);
        if (url) snprintf(url, ulen, "%s/%s", pub, full);
        f->info.url = url;
    }
    return full;
}

static int file_end(receiver *r) {
    file_in *f = &r->file;
    if (f->skipped) return 0;
    if (!f->typed && (file_typed(r) || f->skipped)) return f->skipped ? 0 : -1;
    unsigned char sum[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(f->sha, sum, &n);
    hex_encode(f->info.sha256, sum, n < 32 ? n : 32);
    f->info.stored_name = stored_name(r->c, f->info.original_name);
    if (r->s3)
        f->info.path = f->info.stored_name ? store_s3(r) : NULL;
    else
        f->info.path = f->info.stored_name ? local_commit(r->c, f->tmp, r->upload_dir, r->o->subdir,
                                                          f->info.stored_name)
                                           : NULL;
    f->tmp = NULL; /* committed or removed */
    if (!f->info.path || !push_file(r, &f->info)) {
        if (f->info.path) chopin_upload_remove(r->c, &f->info);
        fail(r, 500, "STORAGE", "the upload cannot be stored");
        return -1;
    }
    return 0;
}

static void file_drop(receiver *r) {
    local_abort(r->c, r->file.tmp);
    r->file.tmp = NULL;
    EVP_MD_CTX_free(r->file.sha);
    r->file.sha = NULL;
}

/* --- Fields -------------------------------------------------------------------------- */

static int field_begin(receiver *r, const multipart_part *part) {
    if (r->num_fields == r->max_fields) {
        fail(r, 413, "TOO_MANY_FIELDS", "more form fields than this route takes");
        return -1;
    }
    r->field = (field_in){.name = chopin_strdup(r->c, part->name, strlen(part->name))};
    return r->field.name ? 0 : -1;
}

static int field_data(receiver *r, const char *data, size_t len) {
    if (r->field.value.len + len > r->max_field_bytes) {
        fail(r, 413, "FIELD_TOO_LARGE", "a form field is longer than this route takes");
        return -1;
    }
    return buf_append(NULL, &r->field.value, data, len) ? (fail(r, 500, NULL, NULL), -1) : 0;
}

static int field_end(receiver *r) {
    if (r->num_fields == r->cap_fields) {
        size_t cap = r->cap_fields ? r->cap_fields * 2 : 8;
        query_param *grown = chopin_alloc(r->c, cap * sizeof *grown);
        if (!grown) return -1;
        if (r->num_fields) memcpy(grown, r->fields, r->num_fields * sizeof *grown);
        r->fields = grown;
        r->cap_fields = cap;
    }
    size_t len = r->field.value.len;
    char *value = chopin_strdup(r->c, r->field.value.data ? r->field.value.data : "", len);
    buf_release(NULL, &r->field.value);
    if (!value) return -1;
    r->fields[r->num_fields++] =
        (query_param){.name = chopin_str_c(r->field.name), .value = {value, len}};
    return 0;
}

/* --- The parser's callbacks ---------------------------------------------------------- */

static int on_part_begin(void *arg, const multipart_part *part) {
    receiver *r = arg;
    r->in_file = part->filename != NULL;
    r->in_field = !r->in_file;
    return r->in_file ? file_begin(r, part) : field_begin(r, part);
}

static int on_part_data(void *arg, const char *data, size_t len) {
    receiver *r = arg;
    return r->in_file ? file_data(r, data, len) : field_data(r, data, len);
}

static int on_part_end(void *arg) {
    receiver *r = arg;
    int rc = r->in_file ? file_end(r) : field_end(r);
    if (r->in_file) file_drop(r);
    r->in_file = r->in_field = false;
    return rc;
}

/* --- Receiving ----------------------------------------------------------------------- */

/* The whole body is one file (application/octet-stream and the like). */
static int receive_whole(receiver *r, char *buf) {
    chopin_str disposition = chopin_req_header(r->c, "Content-Disposition");
    const char *name = NULL;
    if (disposition.ptr) { /* attachment; filename="x.pdf": the client's name, if any */
        const char *fn = strstr(chopin_strdup(r->c, disposition.ptr, disposition.len), "filename=");
        if (fn) {
            fn += 9;
            size_t len = *fn == '"' ? strcspn(++fn, "\"") : strcspn(fn, ";");
            name = chopin_strdup(r->c, fn, len);
        }
    }
    multipart_part part = {.name = "", .filename = name ? name : "", .content_type = NULL};
    if (on_part_begin(r, &part)) return -1;
    ssize_t n;
    while ((n = chopin_body_read(r->c, buf, READ_PIECE)) > 0)
        if (on_part_data(r, buf, (size_t)n)) return -1;
    if (n < 0) return -1;
    return on_part_end(r);
}

static int receive_multipart(receiver *r, char *buf, const char *boundary) {
    multipart_callbacks cb = {on_part_begin, on_part_data, on_part_end};
    multipart_limits lim = {.max_header_bytes = 8192, .max_parts = r->max_files + r->max_fields};
    multipart_parser *p = multipart_new(boundary, &lim, &cb, r);
    if (!p) return fail(r, 500, NULL, NULL), -1;
    int rc = MULTIPART_MORE, body_errno = 0;
    ssize_t n = 0;
    while (rc == MULTIPART_MORE && (n = chopin_body_read(r->c, buf, READ_PIECE)) > 0)
        rc = multipart_feed(p, buf, (size_t)n);
    if (n < 0) body_errno = errno;
    if (rc == MULTIPART_MORE)
        rc = n < 0 ? MULTIPART_STOPPED : multipart_finish(p);
    else if (rc == MULTIPART_DONE) /* the epilogue is read and ignored */
        while ((n = chopin_body_read(r->c, buf, READ_PIECE)) > 0) {
        }
    multipart_free(p);
    errno = body_errno;
    if (rc == MULTIPART_TOO_MANY_PARTS) fail(r, 413, "TOO_MANY_PARTS", "too many form parts");
    if (rc == MULTIPART_HEADERS_TOO_LARGE)
        fail(r, 431, "PART_HEADERS_TOO_LARGE", "a part's headers are too large");
    if (rc == MULTIPART_BAD) fail(r, 400, "BAD_MULTIPART", "the multipart body is malformed");
    return rc == MULTIPART_DONE ? 0 : -1;
}

/* Everything of the request goes: files stored, the one being written. */
static void undo(receiver *r) {
    if (r->in_file) file_drop(r);
    buf_release(NULL, &r->field.value);
    for (size_t i = 0; i < r->num_files; i++) chopin_upload_remove(r->c, &r->files[i]);
    r->num_files = 0;
}

/* The body read failed: say why, in the answer the client may still get. */
static void body_failed(receiver *r) {
    if (errno == EMSGSIZE)
        fail(r, 413, "PAYLOAD_TOO_LARGE", "the body is larger than this route takes");
    else if (errno == EPROTO)
        fail(r, 400, "BAD_REQUEST", "the body's framing is malformed");
    else
        fail(r, 400, "INCOMPLETE", "the body ended before it was complete");
}

chopin_upload *chopin_upload_receive(chopin_ctx *c, const chopin_upload_options *opts) {
    static const chopin_upload_options none = {0};
    const chopin_upload_options *o = opts ? opts : &none;
    s3_config s3;
    receiver r = {.c = c, .o = o, .upload_dir = c->cfg->upload_dir};
    if (c->cfg->s3_bucket[0]) {
        upload_s3_config(c->cfg, &s3);
        r.s3 = &s3;
    }
    r.errors_tail = &r.errors;
    r.max_files = o->max_files ? o->max_files : 10;
    r.max_fields = o->max_fields ? o->max_fields : 100;
    r.max_field_bytes = o->max_field_bytes ? o->max_field_bytes : 64 * 1024;
    r.max_file_bytes = o->max_file_bytes ? o->max_file_bytes : UINT64_MAX;
    char *buf = chopin_alloc(c, READ_PIECE);
    if (!buf) {
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return NULL;
    }
    chopin_str type = chopin_req_header(c, "Content-Type");
    char boundary[80];
    bool multipart = type.ptr && type.len >= 10 && !strncasecmp(type.ptr, "multipart/", 10);
    int rc;
    if (multipart && multipart_boundary(type.ptr, type.len, boundary, sizeof boundary) != 0) {
        fail(&r, 400, "BAD_MULTIPART", "multipart/form-data needs a valid boundary");
        rc = -1;
    } else {
        errno = 0;
        rc = multipart ? receive_multipart(&r, buf, boundary) : receive_whole(&r, buf);
        if (rc && !r.status) body_failed(&r);
    }
    /* The fields' problems join the files' in one 422. */
    void *bound = NULL;
    if (!rc && o->fields) {
        const chopin_json_value *v = model_pairs_value(c, o->fields, r.fields, r.num_fields);
        chopin_field_error *errs = NULL;
        bound = v ? chopin_model_decode(c, o->fields, v, &errs) : NULL;
        if (!bound && !errs && !r.status) fail(&r, 500, NULL, NULL);
        *r.errors_tail = errs;
    }
    if (rc || r.errors || r.status) {
        undo(&r);
        explicit_bzero(&s3, sizeof s3);
        if (r.status == 500 && !r.code) r.code = "INTERNAL_ERROR", r.message = "out of memory";
        if (r.status)
            chopin_error(c, r.status, r.code, r.message);
        else
            model_error_fields(c, r.errors, "some files or fields are not accepted");
        return NULL;
    }
    chopin_upload *up = chopin_alloc(c, sizeof *up);
    chopin_upload_value *values = chopin_alloc(c, (r.num_fields + 1) * sizeof *values);
    if (!up || !values) {
        undo(&r);
        explicit_bzero(&s3, sizeof s3);
        chopin_error(c, 500, "INTERNAL_ERROR", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < r.num_fields; i++)
        values[i] = (chopin_upload_value){r.fields[i].name.ptr, r.fields[i].value.ptr,
                                          r.fields[i].value.len};
    *up = (chopin_upload){.files = r.files,
                          .count = r.num_files,
                          .fields = bound,
                          .values = values,
                          .num_values = r.num_fields};
    explicit_bzero(&s3, sizeof s3);
    return up;
}

void upload_s3_config(const chopin_config *cfg, s3_config *s3) {
    *s3 = (s3_config){0};
    snprintf(s3->bucket, sizeof s3->bucket, "%s", cfg->s3_bucket);
    snprintf(s3->region, sizeof s3->region, "%s", cfg->s3_region);
    snprintf(s3->endpoint, sizeof s3->endpoint, "%s", cfg->s3_endpoint);
    snprintf(s3->access_key_id, sizeof s3->access_key_id, "%s", cfg->s3_access_key_id);
    snprintf(s3->secret_access_key, sizeof s3->secret_access_key, "%s", cfg->s3_secret_access_key);
    snprintf(s3->prefix, sizeof s3->prefix, "%s", cfg->s3_prefix);
}

/* A key with S3_PREFIX already in it, as chopin_upload_file.path has it. */
static const char *without_prefix(const s3_config *s3, const char *key) {
    size_t n = strlen(s3->prefix);
    return n && !strncmp(key, s3->prefix, n) && key[n] == '/' ? key + n + 1 : key;
}

int chopin_upload_remove(chopin_ctx *c, const chopin_upload_file *f) {
    if (!f || !f->path) return errno = EINVAL, -1;
    if (!f->remote) return unlink(f->path);
    s3_config s3;
    upload_s3_config(c->cfg, &s3);
    int rc = s3_delete(c, &s3, without_prefix(&s3, f->path));
    explicit_bzero(&s3, sizeof s3);
    return rc ? (errno = EIO, -1) : 0;
}

char *chopin_upload_url(chopin_ctx *c, const char *key, int expires_s) {
    if (!c->cfg->s3_bucket[0] || !key) return NULL;
    s3_config s3;
    upload_s3_config(c->cfg, &s3);
    char *url = s3_presign_get(c, &s3, without_prefix(&s3, key), expires_s);
    explicit_bzero(&s3, sizeof s3);
    return url;
}
