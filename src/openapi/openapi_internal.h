/* openapi_internal.h - shared by the OpenAPI module's files. Internal. */
#ifndef CHOPIN_OPENAPI_INTERNAL_H
#define CHOPIN_OPENAPI_INTERNAL_H

#include <stddef.h>

/* yaml.c: the same document as YAML 1.2 (block style; every string and key
 * double-quoted, so no value is misread as a number, a boolean or null).
 * json is a complete JSON text; returns a malloc'd NUL-terminated string,
 * or NULL when json is not valid JSON or memory ran out. */
char *openapi_yaml_from_json(const char *json, size_t len);

#endif
