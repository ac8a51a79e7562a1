/* project.c - finding the project, building it with CMake, and running its
 * binary's own commands (routes, docs, db, createsuperuser). */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int read_name(const char *file, char *name, size_t len) {
    char *text = read_text(file);
    if (!text) return -1;
    int rc = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char key[32], value[128];
        if (sscanf(line, " %31[a-z_] = %127s", key, value) == 2 && !strcmp(key, "name") &&
            valid_project_name(value) && strlen(value) < len) {
            memcpy(name, value, strlen(value) + 1);
            rc = 0;
        }
    }
    free(text);
    return rc;
}

int project_find(cli_project *p) {
    char dir[PATH_MAX];
    if (!getcwd(dir, sizeof dir)) return -1;
    for (;;) {
        char file[PATH_MAX + 32];
        snprintf(file, sizeof file, "%s/chopin.project", dir);
        if (!access(file, F_OK)) {
            if (read_name(file, p->name, sizeof p->name)) {
                fprintf(stderr, "chopin: %s has no valid line \"name = NAME\"\n", file);
                return -1;
            }
            snprintf(p->root, sizeof p->root, "%s", dir);
            return 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) break;
        *slash = 0;
    }
    fprintf(stderr, "chopin: not in a Chopin project (no chopin.project here or above; "
                    "`chopin new NAME` makes one)\n");
    return -1;
}

void project_binary(const cli_project *p, char *out, size_t len) {
    snprintf(out, len, "%s/build/%s", p->root, p->name);
}

/* Runs argv with its output kept aside and shown only when it fails: a
 * command's own output (docs export) stays clean, a broken build says why.
 * Returns its exit status, or -1. */
static int run_quietly(char *const argv[]) {
    FILE *log = tmpfile();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (log) {
        posix_spawn_file_actions_adddup2(&fa, fileno(log), STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, fileno(log), STDERR_FILENO);
    }
    /* chopin dev blocks SIGCHLD and SIGINT for its signalfd: the build must
     * not inherit that (cmake waits for make through SIGCHLD). */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    if (rc)
        fprintf(stderr, "chopin: cannot run %s: %s\n", argv[0], strerror(rc));
    else
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
    int exit_code = rc ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (exit_code && log) {
        rewind(log);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, log)) > 0) fwrite(chunk, 1, n, stderr);
    }
    if (log) fclose(log);
    return exit_code;
}

int project_build(const cli_project *p) {
    char build[PATH_MAX + 8], makefile[PATH_MAX + 32], ninja[PATH_MAX + 32], jobs[32];
    snprintf(build, sizeof build, "%s/build", p->root);
    snprintf(makefile, sizeof makefile, "%s/Makefile", build);
    snprintf(ninja, sizeof ninja, "%s/build.ninja", build);
    /* Configured means a build system was written: a configure that failed
     * (Chopin not found) leaves a cache but no Makefile, and runs again. */
    if (access(makefile, F_OK) && access(ninja, F_OK)) {
        char *configure[] = {
            "cmake", "-S", (char *)p->root, "-B", build, "-DCMAKE_BUILD_TYPE=Debug", NULL};
        if (run_quietly(configure)) {
            fprintf(stderr, "chopin: cmake could not configure %s\n", p->root);
            return -1;
        }
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(jobs, sizeof jobs, "-j%ld", cores > 0 ? cores : 1);
    char *make[] = {"cmake", "--build", build, jobs, "--target", (char *)p->name, NULL};
    if (run_quietly(make)) {
        fprintf(stderr, "chopin: the build failed (above)\n");
        return -1;
    }
    return 0;
}

int cli_app_command(int argc, char **argv) {
    cli_project p;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd) || project_find(&p) || project_build(&p)) return 1;
    char bin[PATH_MAX + 80];
    project_binary(&p, bin, sizeof bin);
    /* The app reads .env and its migrations relative to the project. */
    if (chdir(p.root)) {
        fprintf(stderr, "chopin: cannot enter %s: %s\n", p.root, strerror(errno));
        return 1;
    }
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) return 1;
    args[0] = bin;
    for (int i = 0; i < argc; i++) args[i + 1] = argv[i];
    /* The command runs in the project's folder: a file named on the
     * command line is where the user stood. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i - 1], "--output") && argv[i][0] != '/') {
            char *full = malloc(strlen(cwd) + strlen(argv[i]) + 2);
            if (!full) return 1;
            sprintf(full, "%s/%s", cwd, argv[i]);
            args[i + 1] = full;
        }
    execv(bin, args);
    fprintf(stderr, "chopin: cannot run %s: %s\n", bin, strerror(errno));
    free(args);
    return 1;
}
