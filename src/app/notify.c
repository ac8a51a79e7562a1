/* notify.c - tells a service manager (systemd's Type=notify) when the server
 * is ready and when it stops, through the datagram socket named by
 * NOTIFY_SOCKET (sd_notify(3)'s protocol, written here so that libsystemd is
 * not a dependency). A rolling restart waits for READY=1: only then is the
 * new process listening, and the old one may be stopped. */
#include "app_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void app_notify(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0]) return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    /* "/path", or "@name" for a name in the abstract namespace. */
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) return;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    char msg[128];
    int n = snprintf(msg, sizeof msg, "%s\nMAINPID=%ld", state, (long)getpid());
    /* Best effort, as sd_notify: a manager that does not listen changes nothing. */
    if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        chopin_log(CHOPIN_LOG_WARN, "NOTIFY_SOCKET does not take the notification", "state", state,
                   NULL);
    close(fd);
}
