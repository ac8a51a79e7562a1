/* chopin/openapi.h - the OpenAPI 3.1 document of an app, made from its
 * routes, their options (chopin_route_options in chopin/app.h) and their
 * models; served with an interactive page.
 *
 * At start the app mounts, unless API_DOCS is off (the default in
 * production):
 *   GET API_DOCS_PATH                 the Swagger UI page (assets from
 *                                     API_DOCS_ASSETS, else a CDN)
 *   GET API_DOCS_PATH/openapi.json    the document
 *   GET API_DOCS_PATH/openapi.yaml    the same in YAML
 * behind HTTP Basic when API_DOCS_USERNAME and API_DOCS_PASSWORD are set.
 *
 * What the document says of each route: its path parameters (from the
 * pattern; typed by .params), query parameters (.query, and the paging ones
 * for CHOPIN_SHAPE_PAGE), request body (.body), responses in Chopin's
 * envelopes (.responses, plus the errors the route can give unless it
 * declares them itself: 400 with a body (malformed JSON), 422 with a body,
 * query or params model, 401 where a token is required and 403 where a role
 * above user is, 404 with a params model (a resource by id), 409 where the
 * body model has unique fields, 500 always), and security (bearerAuth with
 * the role) where a token is required. A PATCH body is documented as the
 * model with nothing required. Models become components.schemas, each
 * written once and referenced. */
#ifndef CHOPIN_OPENAPI_H
#define CHOPIN_OPENAPI_H

#include "app.h"

/* The document as JSON, or YAML; malloc'd, free() it. NULL when out of
 * memory. Works before start too (for exporting it from a tool). */
char *chopin_openapi_json(const chopin_app *app);
char *chopin_openapi_yaml(const chopin_app *app);

#endif
