/* commands.c - the app's own command line (chopin_app_main): serve, list
 * the routes, export the docs, migrate the database, make a superuser.
 *
 * These live in the app's binary, not in the `chopin` tool, because only
 * the app knows its routes, models and settings: `chopin routes` builds the
 * project and runs `<app> routes`. Output goes to stdout, problems to
 * stderr; the return value is the process's exit status (0 ok, 1 failed,
 * 2 bad usage). */
#include "app_internal.h"

#include "chopin/auth.h"
#include "chopin/db.h"
#include "chopin/migrate.h"
#include "chopin/openapi.h"
#include "chopin/orm.h"
#include "chopin/password.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int usage(const char *prog) {
    printf("usage: %s [command]\n"
           "\n"
           "  serve                      serve until SIGINT / SIGTERM (the default)\n"
           "  routes                     the route table: method, path, auth, summary\n"
           "  docs export [--format json|yaml] [--output FILE]\n"
           "                             the OpenAPI document (stdout by default)\n"
           "  db migrate                 apply pending migrations (DATABASE_MIGRATIONS)\n"
           "  db rollback [N]            undo the last N applied migrations (1)\n"
           "  db status                  every migration and whether it is applied\n"
           "  db reset [--force]         undo all migrations, then apply them again\n"
           "  createsuperuser [--email E] [--username U]\n"
           "                             an account with the superuser role; the password\n"
           "                             from CHOPIN_SUPERUSER_PASSWORD, else asked for\n"
           "  help                       this text\n"
           "\n"
           "Settings come from the environment and .env (docs/configuration.md).\n",
           prog);
    return 0;
}

static int bad_usage(const char *prog, const char *what) {
    fprintf(stderr, "%s: %s (try '%s help')\n", prog, what, prog);
    return 2;
}

/* --- routes ------------------------------------------------------------------------ */

static const char *auth_word(int rank) {
    static const char *const words[] = {"public", "token", "user", "admin", "superuser"};
    return rank >= -1 && rank <= 3 ? words[rank + 1] : "?";
}

static int cmd_routes(chopin_app *app) {
    if (app_compose(app)) return 1;
    size_t width = 4;
    for (size_t i = 0; i < app->num_routes; i++)
        if (strlen(app->routes[i]->pattern) > width) width = strlen(app->routes[i]->pattern);
    printf("%-7s %-*s %-9s %s\n", "METHOD", (int)width, "PATH", "AUTH", "SUMMARY");
    for (size_t i = 0; i < chopin_app_route_count(app); i++) {
        chopin_route_info info;
        chopin_app_route_at(app, i, &info);
        const char *summary = info.options->summary ? info.options->summary : "";
        bool hidden = info.options->hidden;
        printf("%-7s %-*s %-9s %s%s%s\n", chopin_method_name(info.method), (int)width, info.pattern,
               auth_word(info.auth_rank), summary, hidden && *summary ? " " : "",
               hidden ? "(not in the docs)" : "");
    }
    return 0;
}

/* --- docs export ---------------------------------------------------------------- */

static int cmd_docs(chopin_app *app, int argc, char **argv, const char *prog) {
    if (argc < 1 || strcmp(argv[0], "export")) return bad_usage(prog, "docs: expected 'export'");
    const char *format = "json", *output = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc)
            format = argv[++i];
        else if (!strcmp(argv[i], "--output") && i + 1 < argc)
            output = argv[++i];
        else
            return bad_usage(prog, "docs export: expected --format json|yaml and --output FILE");
    }
    bool yaml = !strcmp(format, "yaml");
    if (!yaml && strcmp(format, "json")) return bad_usage(prog, "--format is json or yaml");
    if (app_compose(app)) return 1;
    char *doc = yaml ? chopin_openapi_yaml(app) : chopin_openapi_json(app);
    if (!doc) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    FILE *f = output ? fopen(output, "w") : stdout;
    int rc = 0;
    if (!f || fputs(doc, f) < 0 || (!yaml && fputc('\n', f) < 0) || (output && fclose(f))) {
        fprintf(stderr, "%s: cannot write %s\n", prog, output ? output : "stdout");
        rc = 1;
    }
    free(doc);
    return rc;
}

/* --- db ---------------------------------------------------------------------------- */

static int migrate_all(chopin_app *app, const char *dir) {
    char err[512];
    int n = chopin_migrate(app, dir, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "migrate: %s\n", err);
        return 1;
    }
    printf("applied %d migration%s from %s\n", n, n == 1 ? "" : "s", dir);
    return 0;
}

static int rollback(chopin_app *app, const char *dir, int n) {
    char err[512];
    int done = chopin_migrate_rollback(app, dir, n, err, sizeof err);
    if (done < 0) {
        fprintf(stderr, "rollback: %s\n", err);
        return 1;
    }
    printf("rolled back %d migration%s\n", done, done == 1 ? "" : "s");
    return 0;
}

static int status(chopin_app *app, const char *dir) {
    static const char *const states[] = {"pending", "applied", "CHANGED since applied",
                                         "MISSING file"};
    chopin_migration *list;
    size_t count;
    char err[512];
    if (chopin_migrate_status(app, dir, &list, &count, err, sizeof err)) {
        fprintf(stderr, "status: %s\n", err);
        return 1;
    }
    printf("%-8s %-32s %-22s %s\n", "VERSION", "NAME", "STATE", "APPLIED AT");
    for (size_t i = 0; i < count; i++)
        printf("%-8lld %-32s %-22s %s\n", (long long)list[i].version, list[i].name,
               states[list[i].state], list[i].applied_at);
    if (!count) printf("(no migrations in %s)\n", dir);
    free(list);
    return 0;
}

static int cmd_db(chopin_app *app, int argc, char **argv, const char *prog) {
    const char *dir = app->cfg.database_migrations;
    if (argc < 1) return bad_usage(prog, "db: expected migrate, rollback, status or reset");
    /* As at start: the accounts' tables exist before migrations run (one
     * may reference users). */
    if (app_compose(app)) return 1;
    if (!strcmp(argv[0], "migrate") && argc == 1) return migrate_all(app, dir);
    if (!strcmp(argv[0], "status") && argc == 1) return status(app, dir);
    if (!strcmp(argv[0], "rollback") && argc <= 2) {
        char *end = NULL;
        long n = argc == 2 ? strtol(argv[1], &end, 10) : 1;
        if ((end && *end) || n < 1 || n > 100000)
            return bad_usage(prog, "db rollback: N is a whole number of migrations, at least 1");
        return rollback(app, dir, (int)n);
    }
    if (!strcmp(argv[0], "reset") && argc <= 2) {
        bool force = argc == 2 && !strcmp(argv[1], "--force");
        if (argc == 2 && !force) return bad_usage(prog, "db reset: the only option is --force");
        if (app->cfg.environment == CHOPIN_ENV_PRODUCTION && !force) {
            fprintf(stderr,
                    "%s: db reset drops every migrated table: in production it needs "
                    "--force\n",
                    prog);
            return 1;
        }
        int rc = rollback(app, dir, 100000);
        return rc ? rc : migrate_all(app, dir);
    }
    return bad_usage(prog, "db: expected migrate, rollback [N], status or reset [--force]");
}

/* --- createsuperuser ---------------------------------------------------------------- */

static void chomp(char *s) {
    s[strcspn(s, "\r\n")] = 0;
}

/* A line from the terminal (echo off for secrets) or from stdin. */
static bool ask(const char *prompt, char *out, size_t len, bool secret) {
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
    }
    bool hide = tty && secret && !tcgetattr(STDIN_FILENO, &old);
    if (hide) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool got = fgets(out, (int)len, stdin) != NULL;
    if (hide) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (got) chomp(out);
    return got && *out;
}

static bool valid_handle(const char *s) {
    size_t n = strlen(s);
    if (n < 3 || n > 32) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s)) return false;
    return true;
}

static int create_superuser(chopin_app *app, const char *email, const char *username,
                            const char *password, const char *prog) {
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strpbrk(email, " \t") || strlen(email) > 254) {
        fprintf(stderr, "%s: the email is not an email address\n", prog);
        return 1;
    }
    if (!valid_handle(username)) {
        fprintf(stderr, "%s: the username takes 3 to 32 letters, digits, '_', '.' or '-'\n", prog);
        return 1;
    }
    if (strlen(password) < 8 || strlen(password) > 128) {
        fprintf(stderr, "%s: the password takes 8 to 128 characters\n", prog);
        return 1;
    }
    char lower[256];
    size_t n = 0;
    for (; email[n] && n < sizeof lower - 1; n++) lower[n] = (char)tolower((unsigned char)email[n]);
    lower[n] = 0;
    chopin_ctx *c = chopin_ctx_new(app);
    char hash[CHOPIN_PASSWORD_HASH_MAX];
    int rc = 1;
    if (!c || chopin_password_hash(c, password, strlen(password), hash, sizeof hash)) {
        fprintf(stderr, "%s: cannot hash the password\n", prog);
    } else {
        chopin_auth_user u = {.email = lower,
                              .username = username,
                              .password_hash = hash,
                              .role = "superuser",
                              .is_active = true};
        if (chopin_orm_insert(c, &chopin_auth_user_model, &u)) {
            const chopin_db_error *e = chopin_db_last_error(c);
            fprintf(stderr, "%s: cannot create the account: %s\n", prog,
                    e && e->http_status == 409 ? "the email or the username is taken"
                    : e                        ? e->detail
                                               : "out of memory");
        } else {
            printf("superuser %s (%s) created with id %lld\n", username, lower, (long long)u.id);
            rc = 0;
        }
    }
    chopin_ctx_free(c);
    return rc;
}

static int cmd_createsuperuser(chopin_app *app, int argc, char **argv, const char *prog) {
    char email[256] = "", username[64] = "", password[256] = "";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--email") && i + 1 < argc)
            snprintf(email, sizeof email, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--username") && i + 1 < argc)
            snprintf(username, sizeof username, "%s", argv[++i]);
        else
            return bad_usage(prog, "createsuperuser: expected --email E and --username U");
    }
    /* Never from the command line: it would sit in the shell's history and
     * in every process listing. */
    const char *env_password = getenv("CHOPIN_SUPERUSER_PASSWORD");
    if (!*email && !ask("Email: ", email, sizeof email, false)) return bad_usage(prog, "no email");
    if (!*username) {
        snprintf(username, sizeof username, "%.*s", (int)strcspn(email, "@"), email);
        for (char *p = username; *p; p++) *p = (char)tolower((unsigned char)*p);
        if (isatty(STDIN_FILENO)) {
            char typed[64];
            fprintf(stderr, "Username [%s]: ", username);
            if (fgets(typed, sizeof typed, stdin) && (chomp(typed), *typed))
                snprintf(username, sizeof username, "%s", typed);
        }
    }
    if (env_password && *env_password)
        snprintf(password, sizeof password, "%s", env_password);
    else if (!ask("Password: ", password, sizeof password, true))
        return bad_usage(prog, "no password (set CHOPIN_SUPERUSER_PASSWORD or type it)");
    if (app_compose(app)) return 1; /* the users table */
    int rc = create_superuser(app, email, username, password, prog);
    explicit_bzero(password, sizeof password);
    return rc;
}

/* --- main ---------------------------------------------------------------------------- */

int chopin_app_main(chopin_app *app, int argc, char **argv) {
    const char *prog = argc > 0 && argv[0] ? argv[0] : "app";
    const char *slash = strrchr(prog, '/');
    if (slash) prog = slash + 1;
    if (!app) return 2;
    if (argc < 2 || !strcmp(argv[1], "serve")) return chopin_app_run(app);
    const char *cmd = argv[1];
    int rest = argc - 2;
    char **args = argv + 2;
    for (int i = 0; i < rest; i++)
        if (!strcmp(args[i], "--help") || !strcmp(args[i], "-h")) return usage(prog);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) return usage(prog);
    if (!strcmp(cmd, "routes") && !rest) return cmd_routes(app);
    if (!strcmp(cmd, "docs")) return cmd_docs(app, rest, args, prog);
    if (!strcmp(cmd, "db")) return cmd_db(app, rest, args, prog);
    if (!strcmp(cmd, "createsuperuser")) return cmd_createsuperuser(app, rest, args, prog);
    return bad_usage(prog, "unknown command");
}
