/* demo.h - chopin-demo's routes, shared by its main and the tests that
 * check its OpenAPI document. */
#ifndef CHOPIN_DEMO_H
#define CHOPIN_DEMO_H

#include <chopin.h>

/* Registers every route and makes the todos and accounts tables.
 * 0, or -1 with a message on stderr. */
int demo_setup(chopin_app *app);

#endif
