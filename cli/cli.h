/* cli.h - the chopin command's parts: each command in a file of its own,
 * the project they work on, and writing files. Internal to cli/. */
#ifndef CHOPIN_CLI_H
#define CHOPIN_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* --- Commands (0 ok, 1 failed, 2 bad usage) ------------------------------------------ */

int cli_new(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_dev(int argc, char **argv);
/* routes, docs, db, createsuperuser: built into the app (chopin_app_main);
 * the project is built and its binary runs the command. */
int cli_app_command(int argc, char **argv);

/* --- project.c: the project the command runs in -------------------------------------- */

/* A project is a folder with a chopin.project file ("name = NAME"); its
 * binary is build/NAME, built with CMake. */
typedef struct {
    char root[PATH_MAX];
    char name[64];
} cli_project;

/* From the working directory upwards. 0, or -1 with a message on stderr. */
int project_find(cli_project *p);
/* Configures build/ (the first time) and builds; compiler output goes to
 * stderr. 0 when it built. */
int project_build(const cli_project *p);
/* root/build/name */
void project_binary(const cli_project *p, char *out, size_t len);

/* --- files.c ------------------------------------------------------------------------- */

/* A project name: a letter, then letters, digits, '_' or '-', at most 48. */
bool valid_project_name(const char *name);
/* mkdir -p */
int make_dirs(const char *path);
/* Writes text to path (folders made); refuses to overwrite an existing
 * file. 0, or -1 with a message on stderr. */
int write_new_file(const char *path, const char *text);
int write_file(const char *path, const char *text); /* replaces */
char *read_text(const char *path);                  /* malloc'd, NULL when unreadable */
/* The template with every {{key}} replaced by its value; vars holds key,
 * value pairs and ends with NULL. malloc'd. */
char *expand(const char *tmpl, const char *const *vars);
/* Inserts text before the line holding marker in the file. */
int insert_before_marker(const char *path, const char *marker, const char *text);

/* templates.c: the files of a new project. */
extern const char tmpl_cmakelists[], tmpl_main_c[], tmpl_app_h[], tmpl_routes_c[],
    tmpl_test_app_c[], tmpl_readme[], tmpl_env_example[], tmpl_gitignore[], tmpl_run_sh[],
    tmpl_test_sh[], tmpl_project[];
/* ... and of a generated model. */
extern const char tmpl_model_c[], tmpl_model_test_c[];

#define ROUTES_MARKER "chopin generate model adds its routes above this line"
#define DECLS_MARKER  "chopin generate model adds its declarations above this line"

#endif
