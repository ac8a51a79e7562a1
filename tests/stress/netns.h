/* netns.h - a network namespace of the test's own, for the stress suites
 * that need a fixed port, sysctls of their own or many loopback addresses
 * without touching the machine's network. The servers the test starts
 * afterwards inherit it. */
#ifndef CHOPIN_TEST_NETNS_H
#define CHOPIN_TEST_NETNS_H

#include <criterion/criterion.h>

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A new network namespace with its loopback up; false (and why in errno)
 * if this process may not make one (not root, no CAP_NET_ADMIN). */
static inline bool private_network(void) {
    if (unshare(CLONE_NEWNET) != 0) return false;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert(fd >= 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    cr_assert_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0, "%s", strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0, "%s", strerror(errno));
    close(fd);
    return true;
}

#endif
