/* router.c - the radix tree (see router.h). */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rnode rnode;
struct rnode {
    char *prefix; /* static bytes this node matches (empty for param/wildcard nodes) */
    size_t prefix_len;
    rnode **children; /* static children; their first bytes are distinct */
    size_t num_children;
    rnode *param;    /* ":name" child */
    rnode *wildcard; /* "*name" child */
    char *name;      /* the parameter's name, for param and wildcard nodes */
    void *routes[CHOPIN_METHOD_COUNT];
};

struct router {
    rnode root;
};

router *router_new(void) {
    return calloc(1, sizeof(router));
}

static void node_free(rnode *n) {
    for (size_t i = 0; i < n->num_children; i++) {
        node_free(n->children[i]);
        free(n->children[i]);
    }
    free(n->children);
    if (n->param) node_free(n->param), free(n->param);
    if (n->wildcard) node_free(n->wildcard), free(n->wildcard);
    free(n->prefix);
    free(n->name);
}

void router_free(router *r) {
    if (!r) return;
    node_free(&r->root);
    free(r);
}

static rnode *node_new(const char *prefix, size_t len) {
    rnode *n = calloc(1, sizeof *n);
    if (!n) abort();
    n->prefix = malloc(len + 1);
    if (!n->prefix) abort();
    memcpy(n->prefix, prefix, len);
    n->prefix[len] = 0;
    n->prefix_len = len;
    return n;
}

static void add_child(rnode *parent, rnode *child) {
    rnode **nc = realloc(parent->children, (parent->num_children + 1) * sizeof *nc);
    if (!nc) abort();
    nc[parent->num_children++] = child;
    parent->children = nc;
}

/* Splits n so that it keeps its first `at` bytes and a new child holds the rest. */
static void split(rnode *n, size_t at) {
    rnode *tail = node_new(n->prefix + at, n->prefix_len - at);
    tail->children = n->children;
    tail->num_children = n->num_children;
    tail->param = n->param;
    tail->wildcard = n->wildcard;
    memcpy(tail->routes, n->routes, sizeof n->routes);
    n->children = NULL;
    n->num_children = 0;
    n->param = n->wildcard = NULL;
    memset(n->routes, 0, sizeof n->routes);
    n->prefix_len = at;
    n->prefix[at] = 0;
    add_child(n, tail);
}

/* Length of the static run at p: up to a ':' or '*' that starts a segment. */
static size_t static_run(const char *p) {
    size_t i = 0;
    while (p[i] && !((p[i] == ':' || p[i] == '*') && i > 0 && p[i - 1] == '/')) i++;
    return i;
}

static int fail(char *err, size_t err_len, const char *pattern, const char *why) {
    snprintf(err, err_len, "route '%s': %s", pattern, why);
    return -1;
}

/* Whether the segment at p starts a parameter (":name" or "*name"). */
static bool param_at(const char *pattern, const char *p) {
    return (*p == ':' || *p == '*') && p > pattern && p[-1] == '/';
}

/* Every reason router_add may refuse pattern, found without changing the
 * tree: a refused pattern then leaves nothing behind (no parameter node
 * whose name a later pattern would conflict with). */
static int check(const router *r, chopin_method m, const char *pattern, char *err, size_t err_len) {
    if (pattern[0] != '/') return fail(err, err_len, pattern, "must start with '/'");
    for (const char *p = pattern; *p; p++) {
        if (!param_at(pattern, p)) continue;
        size_t len = strcspn(p + 1, "/");
        if (len == 0) return fail(err, err_len, pattern, "a parameter needs a name");
        if (*p == '*' && p[1 + len]) return fail(err, err_len, pattern, "'*' must be last");
    }
    const rnode *n = &r->root;
    const char *p = pattern;
    while (*p) {
        if (param_at(pattern, p)) {
            size_t len = strcspn(p + 1, "/");
            const rnode *slot = *p == '*' ? n->wildcard : n->param;
            if (!slot) return 0; /* the rest is new: nothing to conflict with */
            if (strlen(slot->name) != len || memcmp(slot->name, p + 1, len) != 0)
                return fail(err, err_len, pattern, "conflicting parameter names");
            n = slot;
            p += 1 + len;
            continue;
        }
        size_t run = static_run(p);
        const rnode *child = NULL;
        for (size_t i = 0; i < n->num_children; i++)
            if (n->children[i]->prefix[0] == p[0]) child = n->children[i];
        if (!child) return 0;
        size_t common = 0;
        while (common < run && common < child->prefix_len && child->prefix[common] == p[common])
            common++;
        if (common < child->prefix_len) return 0; /* a split: the rest is new */
        n = child;
        p += common;
    }
    if (n->routes[m]) return fail(err, err_len, pattern, "registered twice for this method");
    return 0;
}

static rnode *param_child(rnode *n, const char *name, size_t len, bool wildcard) {
    rnode **slot = wildcard ? &n->wildcard : &n->param;
    if (!*slot) {
        *slot = node_new("", 0);
        (*slot)->name = strndup(name, len);
        if (!(*slot)->name) abort();
    }
    return *slot; /* check() saw that an existing one has this name */
}

int router_add(router *r, chopin_method m, const char *pattern, void *route, char *err,
               size_t err_len) {
    if (check(r, m, pattern, err, err_len)) return -1;
    rnode *n = &r->root;
    const char *p = pattern;
    while (*p) {
        if (param_at(pattern, p)) {
            size_t len = strcspn(p + 1, "/");
            n = param_child(n, p + 1, len, *p == '*');
            p += 1 + len;
            continue;
        }
        size_t run = static_run(p);
        rnode *child = NULL;
        for (size_t i = 0; i < n->num_children; i++)
            if (n->children[i]->prefix[0] == p[0]) child = n->children[i];
        if (!child) {
            child = node_new(p, run);
            add_child(n, child);
            n = child;
            p += run;
            continue;
        }
        size_t common = 0;
        while (common < run && common < child->prefix_len && child->prefix[common] == p[common])
            common++;
        if (common < child->prefix_len) split(child, common);
        n = child;
        p += common;
    }
    n->routes[m] = route;
    return 0;
}

static unsigned allow_of(const rnode *n) {
    unsigned mask = 0;
    for (int i = 0; i < CHOPIN_METHOD_COUNT; i++)
        if (n->routes[i]) mask |= 1u << i;
    return mask;
}

static void *route_for(const rnode *n, chopin_method m) {
    if (n->routes[m]) return n->routes[m];
    if (m == CHOPIN_HEAD) return n->routes[CHOPIN_GET];
    return NULL;
}

typedef struct {
    const char *path;
    size_t len;
    chopin_method method;
    router_match *match;
    unsigned allow; /* methods of every node the path matched, for 405 */
} lookup;

static bool push_param(lookup *lk, const rnode *n, size_t from, size_t to) {
    router_match *mt = lk->match;
    if (mt->num_params == ROUTER_MAX_PARAMS) return false;
    mt->params[mt->num_params].name = (chopin_str){n->name, strlen(n->name)};
    mt->params[mt->num_params].raw = (chopin_str){lk->path + from, to - from};
    mt->num_params++;
    return true;
}

/* n's own prefix has matched up to pos. Returns true once a route for the
 * method is found; params hold what led there. */
static bool walk(lookup *lk, const rnode *n, size_t pos) {
    if (pos == lk->len) {
        unsigned allow = allow_of(n);
        if (allow) {
            void *route = route_for(n, lk->method);
            if (route) {
                lk->match->route = route;
                lk->match->allow = allow;
                return true;
            }
            lk->allow |= allow;
        }
    } else {
        char c = lk->path[pos];
        for (size_t i = 0; i < n->num_children; i++) {
            const rnode *ch = n->children[i];
            if (ch->prefix[0] != c) continue;
            if (lk->len - pos >= ch->prefix_len &&
                memcmp(lk->path + pos, ch->prefix, ch->prefix_len) == 0 &&
                walk(lk, ch, pos + ch->prefix_len))
                return true;
            break; /* first bytes are distinct: no other static child can match */
        }
        if (n->param) {
            const char *slash = memchr(lk->path + pos, '/', lk->len - pos);
            size_t end = slash ? (size_t)(slash - lk->path) : lk->len;
            if (end > pos && push_param(lk, n->param, pos, end)) {
                if (walk(lk, n->param, end)) return true;
                lk->match->num_params--;
            }
        }
    }
    if (n->wildcard && push_param(lk, n->wildcard, pos, lk->len)) {
        if (walk(lk, n->wildcard, lk->len)) return true;
        lk->match->num_params--;
    }
    return false;
}

void router_lookup(const router *r, chopin_method m, const char *path, size_t len,
                   router_match *match) {
    lookup lk = {path, len, m, match, 0};
    match->route = NULL;
    match->allow = 0;
    match->num_params = 0;
    if (!walk(&lk, &r->root, 0)) {
        match->num_params = 0;
        match->allow = lk.allow;
    }
}

static void each(rnode *n, void (*fn)(void *, void *), void *arg) {
    for (int i = 0; i < CHOPIN_METHOD_COUNT; i++)
        if (n->routes[i]) fn(n->routes[i], arg);
    for (size_t i = 0; i < n->num_children; i++) each(n->children[i], fn, arg);
    if (n->param) each(n->param, fn, arg);
    if (n->wildcard) each(n->wildcard, fn, arg);
}

void router_each(router *r, void (*fn)(void *route, void *arg), void *arg) {
    each(&r->root, fn, arg);
}
