/* local.c - uploaded files on the local disk (contract in upload_internal.h). */
#include "upload_internal.h"

#include "chopin/async.h"

#include "../engine/engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct local_file {
    int fd;
    char tmp_path[4096];
    char *batch; /* NULL until the first write */
    size_t used, cap;
    int job_errno; /* set by the offloaded job */
};

/* mkdir -p for a folder of ours (0750). */
static int make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0750) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0750) && errno != EEXIST) return -1;
    return 0;
}

/* Runs on the offload pool: the disk may take its time there. */
static void write_batch(void *arg) {
    local_file *f = arg;
    size_t off = 0;
    f->job_errno = 0;
    while (off < f->used) {
        ssize_t n = write(f->fd, f->batch + off, f->used - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            f->job_errno = n < 0 ? errno : EIO;
            return;
        }
        off += (size_t)n;
    }
}

static int flush_batch(chopin_ctx *c, local_file *f) {
    if (!f->used) return 0;
    if (!ctx_task(c)) /* a context of its own (a script): it may block */
        write_batch(f);
    else if (chopin_offload(c, write_batch, f))
        return -1;
    f->used = 0;
    if (f->job_errno) return errno = f->job_errno, -1;
    return 0;
}

local_file *local_begin(chopin_ctx *c, const char *upload_dir) {
    (void)c;
    char tmp_dir[4096];
    if (snprintf(tmp_dir, sizeof tmp_dir, "%s/.tmp", upload_dir) >= (int)sizeof tmp_dir) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    if (make_dirs(tmp_dir)) return NULL;
    local_file *f = calloc(1, sizeof *f);
    if (!f) {
        errno = ENOMEM;
        return NULL;
    }
    unsigned char r[12];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) memset(r, 0, sizeof r);
    int n = snprintf(f->tmp_path, sizeof f->tmp_path, "%s/", tmp_dir);
    for (size_t i = 0; i < sizeof r; i++)
        n += snprintf(f->tmp_path + n, sizeof f->tmp_path - (size_t)n, "%02x", r[i]);
    snprintf(f->tmp_path + n, sizeof f->tmp_path - (size_t)n, ".part");
    f->fd = open(f->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f->fd < 0) {
        int e = errno;
        free(f->batch);
        free(f);
        errno = e;
        return NULL;
    }
    return f;
}

/* The batch grows with the file, from LOCAL_BATCH_FIRST to LOCAL_BATCH, so
 * that a small file holds a small buffer. A full-size batch for every file
 * cost 1 MiB per upload in progress however small (16 MiB for 16 uploads
 * of 4 KiB), and made glibc's malloc raise its mmap threshold to 1 MiB for
 * the whole process after the first one was freed: bench/soak.sh saw the
 * workers' heaps grow for minutes. */
static int batch_room(local_file *f, size_t want) {
    if (f->cap == LOCAL_BATCH || f->cap - f->used >= want) return 0;
    size_t cap = f->cap ? f->cap : LOCAL_BATCH_FIRST;
    while (cap < f->used + want && cap < LOCAL_BATCH) cap *= 2;
    if (cap > LOCAL_BATCH) cap = LOCAL_BATCH;
    char *b = realloc(f->batch, cap);
    if (!b) return errno = ENOMEM, -1;
    f->batch = b;
    f->cap = cap;
    return 0;
}

int local_write(chopin_ctx *c, local_file *f, const char *data, size_t len) {
    while (len) {
        if (batch_room(f, len)) return -1;
        size_t room = f->cap - f->used;
        size_t n = len < room ? len : room;
        memcpy(f->batch + f->used, data, n);
        f->used += n;
        data += n;
        len -= n;
        if (f->used == LOCAL_BATCH && flush_batch(c, f)) return -1;
    }
    return 0;
}

int local_flush_fd(chopin_ctx *c, local_file *f) {
    return flush_batch(c, f) ? -1 : f->fd;
}

void local_abort(chopin_ctx *c, local_file *f) {
    (void)c;
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    if (f->tmp_path[0]) unlink(f->tmp_path);
    free(f->batch);
    free(f);
}

const char *local_commit(chopin_ctx *c, local_file *f, const char *upload_dir, const char *subdir,
                         const char *name) {
    char dir[4096];
    int n = subdir && *subdir ? snprintf(dir, sizeof dir, "%s/%s", upload_dir, subdir)
                              : snprintf(dir, sizeof dir, "%s", upload_dir);
    size_t plen = (size_t)n + 1 + strlen(name) + 1;
    char *path = chopin_alloc(c, plen);
    int failed = 0;
    if (!path || n >= (int)sizeof dir)
        failed = ENOMEM;
    else if (flush_batch(c, f))
        failed = errno;
    else if (close(f->fd))
        failed = errno;
    f->fd = -1;
    if (!failed && make_dirs(dir)) failed = errno;
    if (!failed) {
        snprintf(path, plen, "%s/%s", dir, name);
        if (rename(f->tmp_path, path)) failed = errno;
    }
    if (!failed) f->tmp_path[0] = 0; /* nothing left to remove */
    local_abort(c, f);
    if (failed) return errno = failed, NULL;
    return path;
}

void local_clean_stale(const char *upload_dir, int max_age_s) {
    char tmp_dir[4096], path[4400];
    snprintf(tmp_dir, sizeof tmp_dir, "%s/.tmp", upload_dir);
    DIR *d = opendir(tmp_dir);
    if (!d) return;
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".part")) continue;
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        struct stat st;
        if (!lstat(path, &st) && S_ISREG(st.st_mode) && now - st.st_mtime > max_age_s) unlink(path);
    }
    closedir(d);
}
