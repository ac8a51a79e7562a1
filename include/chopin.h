/* chopin.h - Chopin, an HTTP/JSON API framework in C.
 * Include this one header; the modules' own headers live in chopin/. */
#ifndef CHOPIN_H
#define CHOPIN_H

#include "chopin/base.h"
#include "chopin/log.h"
#include "chopin/json.h"
#include "chopin/ctx.h"
#include "chopin/async.h"
#include "chopin/json_read.h"
#include "chopin/model.h"
#include "chopin/app.h"
#include "chopin/db.h"
#include "chopin/orm.h"
#include "chopin/migrate.h"
#include "chopin/password.h"
#include "chopin/jwt.h"
#include "chopin/auth.h"
#include "chopin/middleware.h"
#include "chopin/cache.h"
#include "chopin/openapi.h"
#include "chopin/static.h"
#include "chopin/upload.h"
#include "chopin/testing.h"

#define CHOPIN_VERSION "0.1.0"

#endif
