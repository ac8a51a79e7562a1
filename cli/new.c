/* new.c - `chopin new NAME`: a project that builds, serves and passes its
 * tests at once: the app, a first model (notes) made by the same generator
 * as `chopin generate model`, tests through the test client, settings, and
 * the two scripts of its README (run, test). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_project(const char *name, const char *ident) {
    const char *const vars[] = {"name", name, "ident", ident, NULL};
    static const struct {
        const char *path;
        const char *tmpl;
        bool executable;
    } files[] = {
        {"chopin.project", tmpl_project, false}, {"CMakeLists.txt", tmpl_cmakelists, false},
        {"src/main.c", tmpl_main_c, false},      {"src/app.h", tmpl_app_h, false},
        {"src/routes.c", tmpl_routes_c, false},  {"tests/test_app.c", tmpl_test_app_c, false},
        {"README.md", tmpl_readme, false},       {".env.example", tmpl_env_example, false},
        {".gitignore", tmpl_gitignore, false},   {"scripts/run.sh", tmpl_run_sh, true},
        {"scripts/test.sh", tmpl_test_sh, true},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *text = expand(files[i].tmpl, vars);
        int rc = text ? write_new_file(files[i].path, text) : -1;
        free(text);
        if (rc || (files[i].executable && chmod(files[i].path, 0755))) return -1;
    }
    if (make_dirs("migrations")) return -1;
    /* .env: this machine's settings, with a secret of its own (not in git). */
    unsigned char secret[32];
    if (getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret) return -1;
    char env[512];
    int n = snprintf(env, sizeof env,
                     "# This machine's settings (not in git; .env.example lists them).\n"
                     "DATABASE_URL=sqlite://%s.db\nJWT_SECRET=",
                     name);
    for (size_t i = 0; i < sizeof secret; i++)
        n += snprintf(env + n, sizeof env - (size_t)n, "%02x", secret[i]);
    snprintf(env + n, sizeof env - (size_t)n, "\n");
    if (write_new_file(".env", env) || chmod(".env", 0600)) return -1;
    return 0;
}

int cli_new(int argc, char **argv) {
    if (argc != 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        printf("usage: chopin new NAME\n"
               "\n"
               "Makes the folder NAME with a Chopin project: src/ (main.c, routes.c, and a\n"
               "notes resource with CRUD routes under auth), migrations/, tests/ (Criterion,\n"
               "through the test client), CMakeLists.txt finding the installed Chopin,\n"
               ".env.example, .env with a fresh JWT_SECRET, .gitignore, and a README with\n"
               "its two commands: scripts/run.sh (serve) and scripts/test.sh (test).\n");
        return argc == 1 ? 0 : 2;
    }
    const char *name = argv[0];
    if (!valid_project_name(name)) {
        fprintf(stderr,
                "chopin: '%s': a project name starts with a letter, then letters, "
                "digits, '_' or '-' (at most 48)\n",
                name);
        return 2;
    }
    if (mkdir(name, 0755)) {
        fprintf(stderr, "chopin: cannot make the folder %s: %s\n", name,
                errno == EEXIST ? "it exists already" : strerror(errno));
        return 1;
    }
    char ident[64];
    snprintf(ident, sizeof ident, "%s", name);
    for (char *p = ident; *p; p++)
        if (*p == '-') *p = '_';
    if (chdir(name) || write_project(name, ident)) return 1;
    char *model_args[] = {"model", "note", "title:string:required", "body:text", "done:bool"};
    if (cli_generate(5, model_args)) return 1;
    printf("\nmade %s/ - next:\n  cd %s\n  scripts/test.sh    # build and test\n"
           "  scripts/run.sh     # serve on http://127.0.0.1:3000 (docs at /api-docs)\n"
           "  chopin dev         # serve, rebuilding and restarting on every change\n",
           name, name);
    return 0;
}
