/* static_internal.h - what the static module shares with the others
 * (uploads name their stored files by the same table). Internal. */
#ifndef CHOPIN_STATIC_INTERNAL_H
#define CHOPIN_STATIC_INTERNAL_H

/* The Content-Type for a file name, by its extension (case-insensitive);
 * "application/octet-stream" when unknown. */
const char *static_content_type(const char *name);

#endif
