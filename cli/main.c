/* main.c - the chopin command: makes projects and models, and runs a
 * project's own commands (routes, docs, db, createsuperuser) and its dev
 * server. */
#include "cli.h"

#include <chopin.h>

#include <stdio.h>
#include <string.h>

static int usage(void) {
    printf(
        "chopin %s - the command of the Chopin framework\n"
        "\n"
        "  chopin new NAME                          a project that builds and passes its tests\n"
        "  chopin generate model NAME field:type... a model, its migration, CRUD routes, tests\n"
        "  chopin generate migration NAME           an empty migration to fill in\n"
        "  chopin dev                               build, serve, rebuild and restart on change\n"
        "  chopin routes                            the route table (method, path, auth)\n"
        "  chopin docs export [--format json|yaml] [--output FILE]\n"
        "  chopin db migrate | rollback [N] | status | reset [--force]\n"
        "  chopin createsuperuser [--email E] [--username U]\n"
        "  chopin --version\n"
        "\n"
        "Field types: string text int bigint float bool timestamp uuid email; add :required,\n"
        ":unique or :index, e.g. title:string:required. `chopin COMMAND --help` says more.\n",
        CHOPIN_VERSION);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) return usage();
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("chopin %s\n", CHOPIN_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "new")) return cli_new(argc - 2, argv + 2);
    if (!strcmp(cmd, "generate") || !strcmp(cmd, "g")) return cli_generate(argc - 2, argv + 2);
    if (!strcmp(cmd, "dev")) return cli_dev(argc - 2, argv + 2);
    if (!strcmp(cmd, "routes") || !strcmp(cmd, "docs") || !strcmp(cmd, "db") ||
        !strcmp(cmd, "createsuperuser"))
        return cli_app_command(argc - 1, argv + 1);
    fprintf(stderr, "chopin: unknown command '%s' (try chopin --help)\n", cmd);
    return 2;
}
