/* split.c - a PostgreSQL script cut into statements at top-level
 * semicolons. The extended protocol (all that pipeline mode allows) takes
 * one statement at a time, so migrations are sent piece by piece. Quoted
 * text ('...', E'...', "...", $tag$...$tag$) and comments (--, nested
 * block comments) are skipped over, so a semicolon inside them does not
 * cut. */
#include "db_internal.h"

#include <stdlib.h>

static bool ident_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* At p a '$': the length of a dollar-quote tag ("$$", "$body$"), or 0 when
 * it is not one (a $1 parameter). */
static size_t dollar_tag(const char *p) {
    size_t n = 1;
    if (p[1] >= '0' && p[1] <= '9') return 0;
    while (ident_char(p[n])) n++;
    return p[n] == '$' ? n + 1 : 0;
}

/* Past the quoted text or comment that starts at p, or p itself. */
static const char *skip(const char *start, const char *p) {
    if (p[0] == '-' && p[1] == '-') {
        while (*p && *p != '\n') p++;
        return p;
    }
    if (p[0] == '/' && p[1] == '*') {
        int depth = 0;
        while (*p) {
            if (p[0] == '/' && p[1] == '*')
                depth++, p += 2;
            else if (p[0] == '*' && p[1] == '/') {
                p += 2;
                if (--depth == 0) return p;
            } else
                p++;
        }
        return p;
    }
    if (*p == '\'' || *p == '"') {
        char q = *p;
        bool backslash = q == '\'' && p > start && (p[-1] == 'E' || p[-1] == 'e') &&
                         (p - 1 == start || !ident_char(p[-2]));
        for (p++; *p; p++) {
            if (backslash && *p == '\\' && p[1])
                p++;
            else if (*p == q && p[1] == q)
                p++;
            else if (*p == q)
                return p + 1;
        }
        return p;
    }
    if (*p == '$' && (p == start || !ident_char(p[-1]))) {
        size_t n = dollar_tag(p);
        if (!n) return p;
        const char *end;
        for (end = p + n; *end; end++)
            if (*end == '$' && !strncmp(end, p, n)) return end + n;
        return end;
    }
    return p;
}

size_t db_split_statements(const char *sql, char ***out) {
    size_t count = 0, cap = 0;
    char **list = NULL;
    const char *stmt = sql;
    bool content = false;
    for (const char *p = sql;;) {
        if (*p && *p != ';') {
            const char *q = skip(sql, p);
            if (q != p) {
                if (!(p[0] == '-' && p[1] == '-') && !(p[0] == '/' && p[1] == '*')) content = true;
                p = q;
                continue;
            }
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') content = true;
            p++;
            continue;
        }
        if (content) {
            if (count == cap) {
                cap = cap ? cap * 2 : 16;
                char **grown = realloc(list, cap * sizeof *grown);
                if (!grown) break;
                list = grown;
            }
            list[count] = strndup(stmt, (size_t)(p - stmt));
            if (!list[count]) break;
            count++;
        }
        if (!*p) break;
        stmt = ++p;
        content = false;
    }
    *out = list;
    return count;
}
