/* chopin/static.h - serving a folder's files: sendfile, Content-Type by
 * extension, ETag / Last-Modified with 304, Range (206 / 416),
 * Cache-Control.
 *
 *   chopin_static(app, "/files", "./uploads", NULL);   // GET /files/a/b.png
 *
 * A request names a file below the folder, never anything else: the path is
 * percent-decoded once and refused (404) if any segment is "." or "..",
 * holds a NUL, a backslash or (unless .hidden_files) starts with "."; the
 * file is then opened below the folder's descriptor with openat2(2)
 * RESOLVE_BENEATH, so that no symbolic link leads out of it either. Only
 * regular files are served; a folder is a 404 unless .index names its
 * index file. */
#ifndef CHOPIN_STATIC_H
#define CHOPIN_STATIC_H

#include "app.h"

typedef struct {
    /* Cache-Control: "public, max-age=N" (N = max_age seconds); 0 gives
     * "no-cache" (clients revalidate each time, cheap with the ETag). */
    int max_age;
    bool immutable;      /* adds "immutable": for file names that change with their content */
    bool hidden_files;   /* serve names starting with "." (refused by default) */
    const char *index;   /* served for a folder's path ("index.html"); NULL: none */
    const char *summary; /* the route's OpenAPI summary; NULL: "Files under <prefix>" */
    /* The files come from users (uploads): every answer carries
     * "Content-Security-Policy: default-src 'none'; sandbox", and HTML, SVG,
     * XML and scripts are sent as attachments, so that nothing uploaded runs
     * with the site's origin (stored XSS). */
    bool untrusted;
} chopin_static_options;

/* Registers GET (and so HEAD) prefix/<*path> over dir. The folder is opened
 * now: 0, or -1 with a message on stderr when it cannot be (the app then
 * refuses to start, like a bad route). */
int chopin_static(chopin_app *app, const char *prefix, const char *dir,
                  const chopin_static_options *opts);

#endif
