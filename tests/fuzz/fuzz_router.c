/* fuzz_router.c - libFuzzer target for the router (src/router/router.c).
 *
 * Input: lines. "GET /pattern" (any of the seven method names, one space,
 * then the pattern up to the end of the line or a NUL) registers a pattern;
 * "? path" looks up path; any other line is looked up as it is. At most
 * MAX_REGS registrations and MAX_PATHS lookups are taken.
 *
 * Every registration is checked against a model of router_add written from
 * router.h and docs/routing.md: a pattern must start with '/'; a ':' or '*'
 * right after a '/' starts a parameter whose name runs to the next '/' and
 * must not be empty; a '*' must be last; a parameter at a place where an
 * accepted registration put a parameter of another name conflicts (a
 * refused one leaves nothing behind); the same pattern twice for one
 * method is refused. The result (0 or -1) and the message (into an
 * exact-size heap buffer, so cut) must be the model's.
 *
 * Every lookup is done for each method and checked against a model matcher
 * over the accepted patterns: a pattern matches when its static bytes equal
 * the path's, each ":name" takes a non-empty run up to the next '/', a
 * "*name" takes the rest (maybe empty), and it has at most ROUTER_MAX_PARAMS
 * parameters. The route found must be the best match for the method (HEAD
 * falls back to GET on the same pattern), where at the first place two
 * matching patterns differ, ending beats static text beats ":param" beats
 * "*wildcard"; its parameters must be the model's, views into the path. No
 * route: allow must be the union of the methods of every matching pattern
 * (the 405 case). Found: allow is the methods of the matched pattern. Each
 * method in allow must find a route; allow 0 means no method finds one.
 *
 * Each accepted pattern is also looked up as a path twice: as it is, and
 * with its parameters filled in ("v", the wildcard "w/x"); the second must
 * find a route for its method, and a static pattern must find itself.
 * router_each must visit each accepted route once; router_free must leave
 * nothing behind (LeakSanitizer). Paths are exact-size heap copies, so
 * AddressSanitizer sees a read past the length handed over. */
#include "router/router.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#define MAX_REGS  64
#define MAX_PATHS 64
#define ERR_LEN   64 /* short, so that long patterns are cut */

static const char *const method_names[CHOPIN_METHOD_COUNT] = {"GET",    "HEAD",  "POST",   "PUT",
                                                              "DELETE", "PATCH", "OPTIONS"};

typedef struct {
    char *pattern;
    chopin_method method;
    bool ok; /* router_add accepted it */
    int visits;
} reg;

/* A parameter place an earlier registration reached: the pattern up to and
 * including the ':' or '*', and the name it gave. */
typedef struct {
    char *prefix;
    size_t prefix_len;
    char *name;
    size_t name_len;
} slot;

typedef struct {
    reg regs[MAX_REGS];
    size_t num_regs;
    size_t kinds_cap; /* the longest pattern + 1: room for a match's tokens */
    slot *slots;
    size_t num_slots, cap_slots;
} model;

static bool param_start(const char *p, size_t i) {
    return (p[i] == ':' || p[i] == '*') && i > 0 && p[i - 1] == '/';
}

static slot *find_slot(model *md, const char *pattern, size_t prefix_len) {
    for (size_t s = 0; s < md->num_slots; s++)
        if (md->slots[s].prefix_len == prefix_len &&
            memcmp(md->slots[s].prefix, pattern, prefix_len) == 0)
            return &md->slots[s];
    return NULL;
}

/* The model's verdict on adding (pattern, m): NULL to accept, or the reason.
 * The pattern's own syntax is judged first, left to right, then the
 * parameter names against the accepted patterns', then a duplicate; only an
 * accepted pattern's parameters are remembered. */
static const char *model_add(model *md, const char *pattern, chopin_method m) {
    if (pattern[0] != '/') return "must start with '/'";
    for (size_t i = 0; pattern[i]; i++) {
        if (!param_start(pattern, i)) continue;
        size_t len = strcspn(pattern + i + 1, "/");
        if (len == 0) return "a parameter needs a name";
        if (pattern[i] == '*' && pattern[i + 1 + len]) return "'*' must be last";
    }
    for (size_t i = 0; pattern[i]; i++) {
        if (!param_start(pattern, i)) continue;
        size_t len = strcspn(pattern + i + 1, "/");
        slot *found = find_slot(md, pattern, i + 1);
        if (found && (found->name_len != len || memcmp(found->name, pattern + i + 1, len) != 0))
            return "conflicting parameter names";
        i += len;
    }
    for (size_t r = 0; r < md->num_regs; r++)
        if (md->regs[r].ok && md->regs[r].method == m && !strcmp(md->regs[r].pattern, pattern))
            return "registered twice for this method";
    for (size_t i = 0; pattern[i]; i++) {
        if (!param_start(pattern, i)) continue;
        size_t len = strcspn(pattern + i + 1, "/");
        if (!find_slot(md, pattern, i + 1)) {
            if (md->num_slots == md->cap_slots) {
                md->cap_slots = md->cap_slots * 2 + 16;
                md->slots = realloc(md->slots, md->cap_slots * sizeof *md->slots);
                CHECK(md->slots);
            }
            slot *s = &md->slots[md->num_slots++];
            s->prefix = strndup(pattern, i + 1);
            s->prefix_len = i + 1;
            s->name = strndup(pattern + i + 1, len);
            s->name_len = len;
            CHECK(s->prefix && s->name);
        }
        i += len;
    }
    return NULL;
}

/* The model's match of one pattern: true if it matches path; params and
 * kinds (0 end, 1 static byte, 2 ":param", 3 "*wildcard", one per token)
 * are filled in. */
typedef struct {
    size_t num_params;
    router_param params[ROUTER_MAX_PARAMS];
    unsigned char *kinds;
    size_t num_kinds;
} model_match;

static bool model_match_one(const char *pattern, const char *path, size_t len, model_match *mm) {
    size_t pos = 0, nparams = 0;
    mm->num_kinds = 0;
    mm->num_params = 0;
    for (size_t i = 0; pattern[i];) {
        if (param_start(pattern, i)) {
            bool wild = pattern[i] == '*';
            size_t nlen = strcspn(pattern + i + 1, "/");
            size_t end = len;
            if (!wild) {
                const char *slash = pos < len ? memchr(path + pos, '/', len - pos) : NULL;
                end = slash ? (size_t)(slash - path) : len;
                if (end == pos) return false;
            }
            if (nparams == ROUTER_MAX_PARAMS) return false;
            mm->params[nparams].name = (chopin_str){pattern + i + 1, nlen};
            mm->params[nparams].raw = (chopin_str){path + pos, end - pos};
            nparams++;
            mm->kinds[mm->num_kinds++] = wild ? 3 : 2;
            pos = end;
            i += 1 + nlen;
        } else {
            if (pos >= len || path[pos] != pattern[i]) return false;
            mm->kinds[mm->num_kinds++] = 1;
            pos++;
            i++;
        }
    }
    if (pos != len) return false;
    mm->kinds[mm->num_kinds++] = 0;
    mm->num_params = nparams;
    return true;
}

/* <0 if a is the better match (see the top of the file). */
static int compare_kinds(const model_match *a, const model_match *b) {
    size_t n = a->num_kinds < b->num_kinds ? a->num_kinds : b->num_kinds;
    for (size_t i = 0; i < n; i++)
        if (a->kinds[i] != b->kinds[i]) return a->kinds[i] < b->kinds[i] ? -1 : 1;
    return 0; /* same shape: the same pattern (names cannot differ) */
}

static const reg *find_reg(const model *md, const char *pattern, chopin_method m) {
    for (size_t r = 0; r < md->num_regs; r++)
        if (md->regs[r].ok && md->regs[r].method == m && !strcmp(md->regs[r].pattern, pattern))
            return &md->regs[r];
    return NULL;
}

static unsigned methods_of(const model *md, const char *pattern) {
    unsigned mask = 0;
    for (size_t r = 0; r < md->num_regs; r++)
        if (md->regs[r].ok && !strcmp(md->regs[r].pattern, pattern))
            mask |= 1u << md->regs[r].method;
    return mask;
}

static void check_lookup(const router *rt, const model *md, chopin_method m, const char *path,
                         size_t len, router_match *out) {
    router_match mt;
    memset(&mt, 0xa5, sizeof mt);
    router_lookup(rt, m, path, len, &mt);

    model_match best = {.kinds = malloc(md->kinds_cap)}, cur = {.kinds = malloc(md->kinds_cap)};
    CHECK(best.kinds && cur.kinds);
    const reg *best_reg = NULL;
    unsigned union_allow = 0;
    for (size_t r = 0; r < md->num_regs; r++) {
        const reg *g = &md->regs[r];
        if (!g->ok || !model_match_one(g->pattern, path, len, &cur)) continue;
        union_allow |= 1u << g->method;
        /* The route this pattern offers to m: its own, or GET's for HEAD. */
        const reg *offer = g->method == m ? g : NULL;
        if (m == CHOPIN_HEAD && g->method == CHOPIN_GET && !find_reg(md, g->pattern, CHOPIN_HEAD))
            offer = g;
        if (!offer) continue;
        int c = best_reg ? compare_kinds(&cur, &best) : -1;
        CHECK(c != 0); /* two patterns of one shape would be one pattern */
        if (c < 0) {
            best_reg = offer;
            memcpy(best.kinds, cur.kinds, cur.num_kinds);
            best.num_kinds = cur.num_kinds;
            best.num_params = cur.num_params;
            memcpy(best.params, cur.params, sizeof cur.params);
        }
    }

    if (!best_reg) {
        if (mt.route) {
            const reg *got = mt.route;
            fprintf(stderr, "fuzz_router: %s '%.*s' found '%s' (%s), the model none\n",
                    method_names[m], (int)len, path, got->pattern, method_names[got->method]);
            abort();
        }
        CHECK(mt.num_params == 0);
        if (mt.allow != union_allow) {
            fprintf(stderr, "fuzz_router: %s '%.*s': allow %#x, the model %#x\n", method_names[m],
                    (int)len, path, mt.allow, union_allow);
            abort();
        }
    } else {
        if (mt.route != best_reg) {
            const reg *got = mt.route;
            fprintf(stderr, "fuzz_router: %s '%.*s' found '%s', the model '%s' (%s)\n",
                    method_names[m], (int)len, path, got ? got->pattern : "(none)",
                    best_reg->pattern, method_names[best_reg->method]);
            abort();
        }
        CHECK(mt.allow == methods_of(md, best_reg->pattern));
        CHECK(mt.num_params == best.num_params);
        for (size_t i = 0; i < mt.num_params; i++) {
            const router_param *p = &mt.params[i];
            /* a view into the path */
            CHECK(p->raw.ptr >= path && p->raw.len <= len &&
                  (size_t)(p->raw.ptr - path) <= len - p->raw.len);
            CHECK(p->raw.ptr == best.params[i].raw.ptr && p->raw.len == best.params[i].raw.len);
            CHECK(p->name.len == best.params[i].name.len &&
                  memcmp(p->name.ptr, best.params[i].name.ptr, p->name.len) == 0);
            CHECK(p->name.ptr[p->name.len] == '\0');
            CHECK(p->raw.len == 0 || memchr(p->raw.ptr, '/', p->raw.len) == NULL ||
                  i + 1 == mt.num_params); /* only the wildcard, last, holds a '/' */
        }
        CHECK(mt.allow != 0);
    }
    free(best.kinds);
    free(cur.kinds);
    *out = mt;
}

/* Looks path up with every method and checks the 405 bits against each other. */
static void check_path(const router *rt, const model *md, const char *text, size_t len,
                       router_match res[CHOPIN_METHOD_COUNT]) {
    char *path = malloc(len ? len : 1); /* exact size */
    CHECK(path);
    if (len) memcpy(path, text, len);
    for (int m = 0; m < CHOPIN_METHOD_COUNT; m++)
        check_lookup(rt, md, (chopin_method)m, path, len, &res[m]);
    unsigned any = 0;
    for (int m = 0; m < CHOPIN_METHOD_COUNT; m++) {
        if (res[m].route) any = 1;
        for (int b = 0; b < CHOPIN_METHOD_COUNT; b++)
            if (res[m].allow & (1u << b)) CHECK(res[b].route != NULL);
        CHECK(res[m].allow < (1u << CHOPIN_METHOD_COUNT));
    }
    for (int m = 0; m < CHOPIN_METHOD_COUNT; m++)
        CHECK(any ? res[m].route || res[m].allow : !res[m].allow);
    free(path);
}

static void count_visit(void *route, void *arg) {
    (void)arg;
    ((reg *)route)->visits++;
}

/* pattern with ":name" as v and "*name" as w/x; returns the parameter count. */
static size_t fill(const char *pattern, char *out) {
    size_t o = 0, n = 0;
    for (size_t i = 0; pattern[i];) {
        if (param_start(pattern, i)) {
            const char *v = pattern[i] == '*' ? "w/x" : "v";
            memcpy(out + o, v, strlen(v));
            o += strlen(v);
            i += 1 + strcspn(pattern + i + 1, "/");
            n++;
        } else {
            out[o++] = pattern[i++];
        }
    }
    out[o] = 0;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data, *end = in + size;
    model md = {.kinds_cap = 1};
    const char *paths[MAX_PATHS];
    size_t path_lens[MAX_PATHS], num_paths = 0;
    router *rt = router_new();
    CHECK(rt);

    for (const char *line = in; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
        int method = -1;
        size_t skip = 0;
        for (int m = 0; m < CHOPIN_METHOD_COUNT && method < 0; m++) {
            size_t k = strlen(method_names[m]);
            if (n > k && memcmp(line, method_names[m], k) == 0 && line[k] == ' ')
                method = m, skip = k + 1;
        }
        if (method >= 0 && md.num_regs < MAX_REGS) {
            reg *g = &md.regs[md.num_regs];
            g->pattern = strndup(line + skip, n - skip); /* stops at a NUL */
            CHECK(g->pattern);
            g->method = (chopin_method)method;
            g->visits = 0;
            const char *why = model_add(&md, g->pattern, g->method);
            char *err = malloc(ERR_LEN);
            CHECK(err);
            memset(err, 0, ERR_LEN);
            int rc = router_add(rt, g->method, g->pattern, g, err, ERR_LEN);
            if (rc != (why ? -1 : 0)) {
                fprintf(stderr, "fuzz_router: %s '%s': router_add %d, the model %s\n",
                        method_names[method], g->pattern, rc, why ? why : "accepts");
                abort();
            }
            if (why) {
                char want[ERR_LEN];
                snprintf(want, sizeof want, "route '%s': %s", g->pattern, why);
                if (strcmp(err, want) != 0) {
                    fprintf(stderr, "fuzz_router: message '%s', the model '%s'\n", err, want);
                    abort();
                }
            }
            free(err);
            g->ok = !why;
            md.num_regs++;
            if (strlen(g->pattern) + 1 > md.kinds_cap) md.kinds_cap = strlen(g->pattern) + 1;
        } else if (method < 0 && num_paths < MAX_PATHS) {
            if (n >= 2 && line[0] == '?' && line[1] == ' ') line += 2, n -= 2;
            paths[num_paths] = line;
            path_lens[num_paths++] = n;
        }
        line += n + 1;
    }

    router_match res[CHOPIN_METHOD_COUNT];
    for (size_t i = 0; i < num_paths; i++) check_path(rt, &md, paths[i], path_lens[i], res);

    for (size_t r = 0; r < md.num_regs; r++) {
        const reg *g = &md.regs[r];
        if (!g->ok) continue;
        check_path(rt, &md, g->pattern, strlen(g->pattern), res);
        char *filled = malloc(strlen(g->pattern) * 3 + 1);
        CHECK(filled);
        size_t nparams = fill(g->pattern, filled);
        check_path(rt, &md, filled, strlen(filled), res);
        if (nparams <= ROUTER_MAX_PARAMS) CHECK(res[g->method].route != NULL);
        if (nparams == 0) CHECK(res[g->method].route == g); /* a static pattern finds itself */
        free(filled);
    }

    router_each(rt, count_visit, NULL);
    for (size_t r = 0; r < md.num_regs; r++) CHECK(md.regs[r].visits == (md.regs[r].ok ? 1 : 0));

    router_free(rt);
    for (size_t r = 0; r < md.num_regs; r++) free(md.regs[r].pattern);
    for (size_t s = 0; s < md.num_slots; s++) free(md.slots[s].prefix), free(md.slots[s].name);
    free(md.slots);
    return 0;
}
