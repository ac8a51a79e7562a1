/* test_router.c - the radix-tree router (router_add / router_lookup) and
 * url_decode, table-driven. Route values are string literals naming the
 * route, so a wrong match shows up as a readable string. */
#include <criterion/criterion.h>

#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIT(m) (1u << (m))

static router *rt;

static void setup(void) {
    rt = router_new();
    cr_assert_not_null(rt);
}

static void teardown(void) {
    router_free(rt);
}

TestSuite(router, .init = setup, .fini = teardown);

static void add_ok(chopin_method m, const char *pattern, const char *value) {
    char err[256] = "";
    int rc = router_add(rt, m, pattern, (void *)value, err, sizeof err);
    cr_assert_eq(rc, 0, "router_add(%s, '%s') failed: %s", chopin_method_name(m), pattern, err);
}

static router_match look(chopin_method m, const char *path) {
    router_match mt;
    memset(&mt, 0xa5, sizeof mt); /* garbage in: the lookup must set every counter */
    router_lookup(rt, m, path, strlen(path), &mt);
    return mt;
}

/* Asserts that (m, path) finds the route named want (NULL: no route). */
static void expect_route(chopin_method m, const char *path, const char *want) {
    router_match mt = look(m, path);
    if (!want) {
        cr_assert_null(mt.route, "%s %s: expected no route, got '%s'", chopin_method_name(m), path,
                       (const char *)mt.route);
        cr_assert_eq(mt.num_params, 0, "%s %s: params left on a miss", chopin_method_name(m), path);
        return;
    }
    cr_assert_not_null(mt.route, "%s %s: expected '%s', got no route", chopin_method_name(m), path,
                       want);
    cr_assert_str_eq((const char *)mt.route, want, "%s %s", chopin_method_name(m), path);
    cr_assert_neq(mt.allow, 0u, "%s %s: a match has a non-empty allow mask", chopin_method_name(m),
                  path);
}

static chopin_str param_of(const router_match *mt, const char *name) {
    for (size_t i = 0; i < mt->num_params; i++)
        if (chopin_str_eq(mt->params[i].name, name)) return mt->params[i].raw;
    return CHOPIN_STR_NULL;
}

static void expect_param(const router_match *mt, const char *name, const char *want) {
    chopin_str v = param_of(mt, name);
    cr_assert_not_null(v.ptr, "param '%s' missing", name);
    cr_assert(chopin_str_eq(v, want), "param '%s': expected '%s', got '%.*s'", name, want,
              (int)v.len, v.ptr);
}

/* --- Static routes --------------------------------------------------------- */

Test(router, static_routes) {
    add_ok(CHOPIN_GET, "/", "root");
    add_ok(CHOPIN_GET, "/users", "users");
    add_ok(CHOPIN_GET, "/about", "about");
    add_ok(CHOPIN_GET, "/about/team", "team");
    add_ok(CHOPIN_GET, "/v1:batch", "colon-mid-segment"); /* ':' not at a segment start: literal */

    static const struct {
        const char *path, *want;
    } cases[] = {
        {"/", "root"},
        {"/users", "users"},
        {"/about", "about"},
        {"/about/team", "team"},
        {"/v1:batch", "colon-mid-segment"},
        {"/v1:other", NULL},
        {"", NULL},
        {"/user", NULL},
        {"/usersx", NULL},
        {"/about/", NULL},
        {"/about/teams", NULL},
        {"/abou", NULL},
        {"/nothing", NULL},
        {"//", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_route(CHOPIN_GET, cases[i].path, cases[i].want);
        if (cases[i].want) cr_assert_eq(look(CHOPIN_GET, cases[i].path).num_params, 0);
    }
}

/* The same routes registered in several orders: every order forces different
 * node splits, and every order must give the same answers. */
Test(router, shared_prefixes_split_nodes) {
    static const char *const patterns[] = {"/users", "/user", "/users/me",
                                           "/u",     "/uzz",  "/users/m"};
    static const int orders[][6] = {
        {0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {3, 1, 0, 2, 5, 4}, {2, 5, 0, 4, 1, 3}};
    static const char *const misses[] = {"/",          "/us", "/use",  "/userss",  "/users/",
                                         "/users/mee", "/uz", "/uzzz", "/users/x", "/userme"};
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        router_free(rt);
        rt = router_new();
        for (size_t i = 0; i < 6; i++) {
            const char *p = patterns[orders[o][i]];
            add_ok(CHOPIN_GET, p, p);
        }
        for (size_t i = 0; i < 6; i++) expect_route(CHOPIN_GET, patterns[i], patterns[i]);
        for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
            router_match mt = look(CHOPIN_GET, misses[i]);
            cr_assert_null(mt.route, "order %zu: %s should miss", o, misses[i]);
            cr_assert_eq(mt.allow, 0u, "order %zu: %s should be a 404", o, misses[i]);
        }
    }
}

/* A split keeps the methods registered on the node that was split. */
Test(router, split_keeps_methods) {
    add_ok(CHOPIN_GET, "/users", "get-users");
    add_ok(CHOPIN_POST, "/users", "post-users");
    add_ok(CHOPIN_GET, "/user", "get-user"); /* splits "/users" */
    expect_route(CHOPIN_GET, "/users", "get-users");
    expect_route(CHOPIN_POST, "/users", "post-users");
    expect_route(CHOPIN_GET, "/user", "get-user");
    cr_assert_eq(look(CHOPIN_GET, "/users").allow, BIT(CHOPIN_GET) | BIT(CHOPIN_POST));
    cr_assert_eq(look(CHOPIN_GET, "/user").allow, BIT(CHOPIN_GET));
}

/* --- Parameters and wildcards ---------------------------------------------- */

Test(router, params) {
    add_ok(CHOPIN_GET, "/users/:id", "user");
    add_ok(CHOPIN_GET, "/users/:id/posts/:pid", "post");
    add_ok(CHOPIN_GET, "/:lang/docs", "docs");

    router_match mt = look(CHOPIN_GET, "/users/42");
    cr_assert_str_eq((const char *)mt.route, "user");
    cr_assert_eq(mt.num_params, 1);
    expect_param(&mt, "id", "42");

    mt = look(CHOPIN_GET, "/users/7/posts/abc");
    cr_assert_str_eq((const char *)mt.route, "post");
    cr_assert_eq(mt.num_params, 2);
    cr_assert(chopin_str_eq(mt.params[0].name, "id"));
    cr_assert(chopin_str_eq(mt.params[0].raw, "7"));
    cr_assert(chopin_str_eq(mt.params[1].name, "pid"));
    cr_assert(chopin_str_eq(mt.params[1].raw, "abc"));

    mt = look(CHOPIN_GET, "/fr/docs");
    cr_assert_str_eq((const char *)mt.route, "docs");
    expect_param(&mt, "lang", "fr");

    /* A parameter is one non-empty segment. */
    expect_route(CHOPIN_GET, "/users/", NULL);
    expect_route(CHOPIN_GET, "/users", NULL);
    expect_route(CHOPIN_GET, "/users/1/2", NULL);
    expect_route(CHOPIN_GET, "/users/1/posts/", NULL);
    expect_route(CHOPIN_GET, "/users/1/posts/2/", NULL);
    expect_route(CHOPIN_GET, "//docs", NULL);
}

Test(router, params_captured_raw) {
    add_ok(CHOPIN_GET, "/files/:name", "file");
    router_match mt = look(CHOPIN_GET, "/files/a%20b%2Fc+d");
    cr_assert_str_eq((const char *)mt.route, "file");
    expect_param(&mt, "name", "a%20b%2Fc+d"); /* still encoded: decoding is the caller's */
    /* The view points into the path that was looked up. */
    const char *path = "/files/xyz";
    router_lookup(rt, CHOPIN_GET, path, strlen(path), &mt);
    cr_assert_eq(mt.params[0].raw.ptr, path + 7);
    cr_assert_eq(mt.params[0].raw.len, 3);
}

Test(router, lookup_uses_len_not_nul) {
    add_ok(CHOPIN_GET, "/a/:id", "a");
    add_ok(CHOPIN_GET, "/ab", "ab");
    router_match mt;
    const char *path = "/a/123?query=1";
    router_lookup(rt, CHOPIN_GET, path, 6, &mt); /* "/a/123" */
    cr_assert_str_eq((const char *)mt.route, "a");
    expect_param(&mt, "id", "123");
    router_lookup(rt, CHOPIN_GET, "/abc", 3, &mt); /* "/ab" */
    cr_assert_str_eq((const char *)mt.route, "ab");
}

Test(router, wildcard) {
    add_ok(CHOPIN_GET, "/files/*path", "files");
    add_ok(CHOPIN_GET, "/*all", "catch-all");

    router_match mt = look(CHOPIN_GET, "/files/a/b/c.txt");
    cr_assert_str_eq((const char *)mt.route, "files");
    cr_assert_eq(mt.num_params, 1);
    expect_param(&mt, "path", "a/b/c.txt");

    mt = look(CHOPIN_GET, "/files/"); /* empty rest */
    cr_assert_str_eq((const char *)mt.route, "files");
    cr_assert_eq(mt.num_params, 1);
    expect_param(&mt, "path", "");

    mt = look(CHOPIN_GET, "/files//x/"); /* the rest is raw, slashes and all */
    expect_param(&mt, "path", "/x/");

    mt = look(CHOPIN_GET, "/files"); /* no slash: not under /files/, so the root catch-all */
    cr_assert_str_eq((const char *)mt.route, "catch-all");
    expect_param(&mt, "all", "files");

    mt = look(CHOPIN_GET, "/");
    cr_assert_str_eq((const char *)mt.route, "catch-all");
    expect_param(&mt, "all", "");
}

Test(router, priority_static_param_wildcard) {
    /* Registered wildcard first, static last: priority must not depend on order. */
    add_ok(CHOPIN_GET, "/a/*rest", "wild");
    add_ok(CHOPIN_GET, "/a/:id", "param");
    add_ok(CHOPIN_GET, "/a/new", "static");
    add_ok(CHOPIN_GET, "/a/:id/edit", "param-edit");

    static const struct {
        const char *path, *want, *pname, *pval;
    } cases[] = {
        {"/a/new", "static", NULL, NULL},
        {"/a/x", "param", "id", "x"},
        {"/a/newx", "param", "id", "newx"}, /* static prefix matched, then not */
        {"/a/ne", "param", "id", "ne"},
        {"/a/new/edit", "param-edit", "id", "new"}, /* static "new" has no /edit: backtrack */
        {"/a/x/edit", "param-edit", "id", "x"},
        {"/a/x/y", "wild", "rest", "x/y"},
        {"/a/new/y", "wild", "rest", "new/y"},
        {"/a/", "wild", "rest", ""},
        {"/a/x/edit/more", "wild", "rest", "x/edit/more"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        router_match mt = look(CHOPIN_GET, cases[i].path);
        cr_assert_not_null(mt.route, "%s: no route", cases[i].path);
        cr_assert_str_eq((const char *)mt.route, cases[i].want, "%s", cases[i].path);
        if (cases[i].pname) {
            cr_assert_eq(mt.num_params, 1, "%s: %zu params", cases[i].path, mt.num_params);
            expect_param(&mt, cases[i].pname, cases[i].pval);
        } else {
            cr_assert_eq(mt.num_params, 0, "%s", cases[i].path);
        }
    }
}

/* A node's own route wins over its wildcard's empty rest. */
Test(router, exact_node_beats_empty_wildcard) {
    add_ok(CHOPIN_GET, "/static/", "dir");
    add_ok(CHOPIN_GET, "/static/*file", "file");
    expect_route(CHOPIN_GET, "/static/", "dir");
    expect_route(CHOPIN_GET, "/static/x", "file");
}

/* --- Backtracking ------------------------------------------------------------ */

Test(router, backtracking_by_method) {
    add_ok(CHOPIN_GET, "/users/me", "get-me");
    add_ok(CHOPIN_POST, "/users/:id", "post-user");

    expect_route(CHOPIN_GET, "/users/me", "get-me");
    router_match mt = look(CHOPIN_POST, "/users/me");
    cr_assert_not_null(mt.route, "POST /users/me must backtrack to the param route");
    cr_assert_str_eq((const char *)mt.route, "post-user");
    cr_assert_eq(mt.num_params, 1);
    expect_param(&mt, "id", "me");

    expect_route(CHOPIN_POST, "/users/7", "post-user");
    router_match g = look(CHOPIN_GET, "/users/7"); /* only POST there */
    cr_assert_null(g.route);
    cr_assert_eq(g.allow, BIT(CHOPIN_POST));
}

Test(router, backtracking_pops_params) {
    add_ok(CHOPIN_GET, "/a/:x/b", "x-b");
    add_ok(CHOPIN_GET, "/a/*rest", "rest");
    add_ok(CHOPIN_GET, "/p/:one/:two/z", "deep");
    add_ok(CHOPIN_GET, "/p/*all", "p-all");

    router_match mt = look(CHOPIN_GET, "/a/1/c"); /* ":x" tried first, then the wildcard */
    cr_assert_str_eq((const char *)mt.route, "rest");
    cr_assert_eq(mt.num_params, 1, "the failed ':x' must not stay in params");
    cr_assert(chopin_str_eq(mt.params[0].name, "rest"));
    cr_assert(chopin_str_eq(mt.params[0].raw, "1/c"));

    mt = look(CHOPIN_GET, "/p/1/2/y");
    cr_assert_str_eq((const char *)mt.route, "p-all");
    cr_assert_eq(mt.num_params, 1);
    expect_param(&mt, "all", "1/2/y");

    mt = look(CHOPIN_GET, "/p/1/2/z");
    cr_assert_str_eq((const char *)mt.route, "deep");
    cr_assert_eq(mt.num_params, 2);
    expect_param(&mt, "one", "1");
    expect_param(&mt, "two", "2");
}

Test(router, backtracking_deeper_static_dead_end) {
    add_ok(CHOPIN_GET, "/users/me/settings", "settings");
    add_ok(CHOPIN_GET, "/users/:id/posts", "posts");
    router_match mt = look(CHOPIN_GET, "/users/me/posts");
    cr_assert_not_null(mt.route);
    cr_assert_str_eq((const char *)mt.route, "posts");
    expect_param(&mt, "id", "me");
    expect_route(CHOPIN_GET, "/users/me/settings", "settings");
    expect_route(CHOPIN_GET, "/users/you/settings", NULL);
}

/* --- 404, 405, HEAD ------------------------------------------------------------ */

Test(router, method_not_allowed_mask) {
    add_ok(CHOPIN_GET, "/items", "get-items");
    add_ok(CHOPIN_PUT, "/items", "put-items");
    add_ok(CHOPIN_DELETE, "/items/:id", "del-item");

    router_match mt = look(CHOPIN_POST, "/items");
    cr_assert_null(mt.route);
    cr_assert_eq(mt.allow, BIT(CHOPIN_GET) | BIT(CHOPIN_PUT));
    cr_assert_eq(mt.num_params, 0);

    mt = look(CHOPIN_GET, "/items/3");
    cr_assert_null(mt.route);
    cr_assert_eq(mt.allow, BIT(CHOPIN_DELETE));
    cr_assert_eq(mt.num_params, 0);

    mt = look(CHOPIN_OPTIONS, "/items");
    cr_assert_null(mt.route);
    cr_assert_eq(mt.allow, BIT(CHOPIN_GET) | BIT(CHOPIN_PUT));

    mt = look(CHOPIN_GET, "/items");
    cr_assert_str_eq((const char *)mt.route, "get-items");
    cr_assert_eq(mt.allow, BIT(CHOPIN_GET) | BIT(CHOPIN_PUT));
}

/* When several routes match the path, a 405 lists every method that would
 * have been routed (RFC 9110 15.5.6: the resource's supported methods). */
Test(router, method_not_allowed_mask_spans_backtracking) {
    add_ok(CHOPIN_GET, "/users/me", "get-me");
    add_ok(CHOPIN_POST, "/users/:id", "post-user");
    add_ok(CHOPIN_PATCH, "/users/*rest", "patch-rest");
    router_match mt = look(CHOPIN_DELETE, "/users/me");
    cr_assert_null(mt.route);
    /* GET /users/me, POST /users/me and PATCH /users/me all route. */
    cr_assert_eq(mt.allow, BIT(CHOPIN_GET) | BIT(CHOPIN_POST) | BIT(CHOPIN_PATCH), "allow=%#x",
                 mt.allow);
}

Test(router, not_found) {
    add_ok(CHOPIN_GET, "/a", "a");
    add_ok(CHOPIN_GET, "/b/:id", "b");
    static const char *const paths[] = {"/", "/c", "/a/", "/aa", "/b", "/b/", "/b/1/2", "x", ""};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        for (int m = 0; m < CHOPIN_METHOD_COUNT; m++) {
            router_match mt = look((chopin_method)m, paths[i]);
            cr_assert_null(mt.route, "%s %s", chopin_method_name((chopin_method)m), paths[i]);
            cr_assert_eq(mt.allow, 0u, "%s %s", chopin_method_name((chopin_method)m), paths[i]);
            cr_assert_eq(mt.num_params, 0);
        }
}

Test(router, empty_router) {
    router_match mt = look(CHOPIN_GET, "/");
    cr_assert_null(mt.route);
    cr_assert_eq(mt.allow, 0u);
    cr_assert_eq(mt.num_params, 0);
}

Test(router, head_falls_back_to_get) {
    add_ok(CHOPIN_GET, "/page", "get-page");
    add_ok(CHOPIN_GET, "/both", "get-both");
    add_ok(CHOPIN_HEAD, "/both", "head-both");
    add_ok(CHOPIN_POST, "/form", "post-form");
    add_ok(CHOPIN_GET, "/users/me", "get-me");
    add_ok(CHOPIN_GET, "/users/:id", "get-user");

    expect_route(CHOPIN_HEAD, "/page", "get-page");
    expect_route(CHOPIN_HEAD, "/both", "head-both"); /* an explicit HEAD route wins */
    expect_route(CHOPIN_GET, "/both", "get-both");
    router_match mt = look(CHOPIN_HEAD, "/users/9");
    cr_assert_str_eq((const char *)mt.route, "get-user");
    expect_param(&mt, "id", "9");

    mt = look(CHOPIN_HEAD, "/form"); /* no GET: 405 */
    cr_assert_null(mt.route);
    cr_assert_eq(mt.allow, BIT(CHOPIN_POST));
    /* Only HEAD falls back: no other method borrows GET. */
    mt = look(CHOPIN_POST, "/page");
    cr_assert_null(mt.route);
    cr_assert_eq(mt.allow, BIT(CHOPIN_GET));
}

Test(router, trailing_slash_strict) {
    add_ok(CHOPIN_GET, "/users", "users");
    add_ok(CHOPIN_GET, "/dir/", "dir");
    add_ok(CHOPIN_GET, "/p/:id", "p");
    expect_route(CHOPIN_GET, "/users", "users");
    expect_route(CHOPIN_GET, "/users/", NULL);
    expect_route(CHOPIN_GET, "/dir/", "dir");
    expect_route(CHOPIN_GET, "/dir", NULL);
    expect_route(CHOPIN_GET, "/p/1", "p");
    expect_route(CHOPIN_GET, "/p/1/", NULL);
}

/* --- Many routes ------------------------------------------------------------------ */

struct visit {
    int *seen;
    int total;
};

/* Route values are "v<index>". */
static void each_fn(void *route, void *arg) {
    struct visit *v = arg;
    v->seen[atoi((const char *)route + 1)]++;
    v->total++;
}

Test(router, many_routes) {
    enum { N = 200 };
    static char patterns[N][64], paths[N][64], values[N][16];
    for (int i = 0; i < N; i++) {
        /* Numbers share prefixes (r1, r10, r100...), forcing splits all over. */
        switch (i % 4) {
        case 0:
            snprintf(patterns[i], 64, "/r%d", i), snprintf(paths[i], 64, "/r%d", i);
            break;
        case 1:
            snprintf(patterns[i], 64, "/api/v%d/items/:id", i);
            snprintf(paths[i], 64, "/api/v%d/items/x%d", i, i);
            break;
        case 2:
            snprintf(patterns[i], 64, "/api/v%d/items/%d/static", i % 10, i);
            snprintf(paths[i], 64, "/api/v%d/items/%d/static", i % 10, i);
            break;
        default:
            snprintf(patterns[i], 64, "/files%d/*rest", i);
            snprintf(paths[i], 64, "/files%d/a/b", i);
            break;
        }
        snprintf(values[i], 16, "v%d", i);
    }
    /* Registered in a scrambled order. */
    for (int k = 0; k < N; k++) {
        int i = (k * 7) % N; /* 7 is coprime with 200: a permutation */
        add_ok(i % 2 ? CHOPIN_POST : CHOPIN_GET, patterns[i], values[i]);
    }
    for (int i = 0; i < N; i++) {
        chopin_method m = i % 2 ? CHOPIN_POST : CHOPIN_GET;
        router_match mt = look(m, paths[i]);
        cr_assert_not_null(mt.route, "%s (%s) not found", paths[i], patterns[i]);
        cr_assert_str_eq((const char *)mt.route, values[i], "%s", paths[i]);
        if (i % 4 == 1) {
            char want[16];
            snprintf(want, sizeof want, "x%d", i);
            expect_param(&mt, "id", want);
        }
        if (i % 4 == 3) expect_param(&mt, "rest", "a/b");
    }
    /* router_each visits every route exactly once. */
    static int seen[N];
    memset(seen, 0, sizeof seen);
    struct visit v = {seen, 0};
    router_each(rt, each_fn, &v);
    cr_assert_eq(v.total, N);
    for (int i = 0; i < N; i++) cr_assert_eq(seen[i], 1, "route %d seen %d times", i, seen[i]);
}

Test(router, max_params) {
    char pattern[256] = "", path[256] = "";
    for (int i = 0; i < ROUTER_MAX_PARAMS; i++) {
        size_t pl = strlen(pattern), ql = strlen(path);
        snprintf(pattern + pl, sizeof pattern - pl, "/:p%d", i);
        snprintf(path + ql, sizeof path - ql, "/%d", i);
    }
    add_ok(CHOPIN_GET, pattern, "many");
    router_match mt = look(CHOPIN_GET, path);
    cr_assert_str_eq((const char *)mt.route, "many");
    cr_assert_eq(mt.num_params, ROUTER_MAX_PARAMS);
    for (int i = 0; i < ROUTER_MAX_PARAMS; i++) {
        char name[8], val[8];
        snprintf(name, sizeof name, "p%d", i);
        snprintf(val, sizeof val, "%d", i);
        expect_param(&mt, name, val);
    }
}

/* --- Malformed patterns ---------------------------------------------------------------- */

Test(router, malformed_patterns_rejected) {
    add_ok(CHOPIN_GET, "/u/:id", "u");
    add_ok(CHOPIN_GET, "/dup", "dup");
    add_ok(CHOPIN_GET, "/w/*rest", "w");

    static const struct {
        chopin_method m;
        const char *pattern, *why;
    } bad[] = {
        {CHOPIN_GET, "", "must start with '/'"},
        {CHOPIN_GET, "users", "must start with '/'"},
        {CHOPIN_GET, "*all", "must start with '/'"},
        {CHOPIN_GET, "/a/*rest/b", "'*' must be last"},
        {CHOPIN_GET, "/a/*rest/", "'*' must be last"},
        {CHOPIN_GET, "/a/:", "a parameter needs a name"},
        {CHOPIN_GET, "/a/:/b", "a parameter needs a name"},
        {CHOPIN_GET, "/a/*", "a parameter needs a name"},
        {CHOPIN_GET, "/u/:name", "conflicting parameter names"},
        {CHOPIN_POST, "/u/:name/x", "conflicting parameter names"},
        {CHOPIN_GET, "/w/*path", "conflicting parameter names"},
        {CHOPIN_GET, "/dup", "registered twice"},
        {CHOPIN_GET, "/u/:id", "registered twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        int rc = router_add(rt, bad[i].m, bad[i].pattern, (void *)"bad", err, sizeof err);
        cr_assert_eq(rc, -1, "'%s' accepted", bad[i].pattern);
        cr_assert(strstr(err, bad[i].why), "'%s': message '%s' lacks '%s'", bad[i].pattern, err,
                  bad[i].why);
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i].pattern);
        cr_assert(strstr(err, quoted), "'%s': message '%s' does not name the pattern",
                  bad[i].pattern, err);
    }
    /* Rejections leave the router as it was. */
    expect_route(CHOPIN_GET, "/u/5", "u");
    router_match mt = look(CHOPIN_GET, "/u/5");
    expect_param(&mt, "id", "5");
    expect_route(CHOPIN_GET, "/dup", "dup");
    expect_route(CHOPIN_GET, "/w/x/y", "w");
    expect_route(CHOPIN_GET, "/a/x/b", NULL);
    /* The same pattern with another method is fine. */
    add_ok(CHOPIN_POST, "/dup", "post-dup");
    expect_route(CHOPIN_POST, "/dup", "post-dup");
    expect_route(CHOPIN_GET, "/dup", "dup");
    /* Nothing of a refused pattern stays behind: its parameter names do not
     * make later patterns conflict. */
    char err[256] = "";
    cr_assert_eq(router_add(rt, CHOPIN_GET, "/v/:a/*rest/more", (void *)"bad", err, sizeof err),
                 -1);
    cr_assert_eq(router_add(rt, CHOPIN_GET, "/u/:id/:x/:/y", (void *)"bad", err, sizeof err), -1);
    add_ok(CHOPIN_GET, "/v/:b", "v");
    add_ok(CHOPIN_GET, "/u/:id/:z", "uz");
    mt = look(CHOPIN_GET, "/v/1");
    expect_param(&mt, "b", "1");
    mt = look(CHOPIN_GET, "/u/1/2");
    expect_param(&mt, "z", "2");
}

Test(router, error_message_truncated_safely) {
    char err[8];
    memset(err, 'x', sizeof err);
    cr_assert_eq(router_add(rt, CHOPIN_GET, "no-slash", (void *)"r", err, sizeof err), -1);
    cr_assert_eq(err[sizeof err - 1], '\0');
    cr_assert_eq(strlen(err), sizeof err - 1);
}

/* --- url_decode ------------------------------------------------------------------------------ */

Test(url, decode_table) {
    static const struct {
        const char *in;
        bool form;
        const char *out;
        size_t out_len;
    } cases[] = {
        {"", false, "", 0},
        {"plain", false, "plain", 5},
        {"%41", false, "A", 1},
        {"%2f", false, "/", 1},
        {"%2F", false, "/", 1},
        {"a%20b", false, "a b", 3},
        {"%e2%82%AC", false, "\xe2\x82\xac", 3},
        {"%00x", false, "\0x", 2},
        {"%zz", false, "%zz", 3},
        {"%4g", false, "%4g", 3},
        {"%g4", false, "%g4", 3},
        {"%4", false, "%4", 2},
        {"x%4", false, "x%4", 3},
        {"%", false, "%", 1},
        {"100%", false, "100%", 4},
        {"%%41", false, "%A", 2},
        {"%41%", false, "A%", 2},
        {"a+b", false, "a+b", 3},
        {"a+b", true, "a b", 3},
        {"++", true, "  ", 2},
        {"%2B", true, "+", 1},
        {"%2b+%2B", true, "+ +", 3},
        {"a%20b+c", true, "a b c", 5},
        {"%zz+", true, "%zz ", 4},
        {"%+1", true, "% 1", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].in);
        char *out = malloc(len + 1); /* exactly len bytes may be written; +1 for malloc(0) */
        cr_assert_not_null(out);
        size_t n = url_decode(out, cases[i].in, len, cases[i].form);
        cr_assert_eq(n, cases[i].out_len, "'%s' form=%d: length %zu, want %zu", cases[i].in,
                     cases[i].form, n, cases[i].out_len);
        cr_assert(memcmp(out, cases[i].out, n) == 0, "'%s' form=%d: got '%.*s'", cases[i].in,
                  cases[i].form, (int)n, out);
        free(out);
    }
}

/* The decoder reads only len bytes: an escape cut by len stays as it is. */
Test(url, decode_respects_len) {
    char out[8];
    size_t n = url_decode(out, "%41%42", 5, false); /* "%41%4" */
    cr_assert_eq(n, 3);
    cr_assert(memcmp(out, "A%4", 3) == 0);
    n = url_decode(out, "ab%41", 3, false); /* "ab%" */
    cr_assert_eq(n, 3);
    cr_assert(memcmp(out, "ab%", 3) == 0);
}

Test(url, decode_every_byte_value) {
    for (int b = 0; b < 256; b++) {
        char in[4], out[4];
        snprintf(in, sizeof in, "%%%02X", b);
        cr_assert_eq(url_decode(out, in, 3, false), 1);
        cr_assert_eq((unsigned char)out[0], b);
        snprintf(in, sizeof in, "%%%02x", b);
        cr_assert_eq(url_decode(out, in, 3, true), 1);
        cr_assert_eq((unsigned char)out[0], b);
    }
}
