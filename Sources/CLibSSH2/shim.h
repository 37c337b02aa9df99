#ifndef EDGEUP_CLIBSSH2_SHIM_H
#define EDGEUP_CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

/* Receives like libssh2's default, and counts the bytes read into the
   uint64_t that the session's abstract pointer points at. EdgeSSH uses the
   count to notice when one operation pulled in data another one waits for. */
static inline ssize_t edgeup_counting_recv(libssh2_socket_t sock, void *buffer,
                                           size_t length, int flags,
                                           void **abstract) {
    ssize_t n = recv(sock, buffer, length, flags);
    if (n < 0) return -errno;
    if (n > 0 && abstract && *abstract) *(uint64_t *)(*abstract) += (uint64_t)n;
    return n;
}

/* Swift cannot pass a C function as the untyped pointer callback_set wants. */
static inline void edgeup_install_counting_recv(LIBSSH2_SESSION *session) {
    libssh2_session_callback_set(session, LIBSSH2_CALLBACK_RECV,
                                 (void *)edgeup_counting_recv);
}

#ifdef __linux__
#include <sys/epoll.h>
#include <fcntl.h>

int pipe2(int pipefd[2], int flags);

/* A pipe that is close-on-exec from birth, so concurrent spawns never inherit it. */
static inline int edgeup_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

/* epoll_event is packed on x86_64, which Swift cannot lay out, and the EPOLL*
   constants import awkwardly: only these helpers touch them. Interest bits:
   1 = readable, 2 = writable. Reported bits add 4 = error or hang-up. */
static inline int edgeup_epoll_arm(int epfd, int fd, unsigned interest) {
    struct epoll_event ev;
    ev.events = EPOLLONESHOT | ((interest & 1) ? EPOLLIN : 0) | ((interest & 2) ? EPOLLOUT : 0);
    ev.data.u64 = 0;
    ev.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
    if (errno != ENOENT) return -1;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static inline int edgeup_epoll_disarm(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Waits once and copies at most `max` (<= 256) ready fds and their bits out. */
static inline int edgeup_epoll_wait(int epfd, int32_t *fds, uint32_t *bits,
                                    int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        fds[i] = evs[i].data.fd;
        bits[i] = ((e & EPOLLIN) ? 1u : 0u) | ((e & EPOLLOUT) ? 2u : 0u) |
                  ((e & (EPOLLERR | EPOLLHUP)) ? 4u : 0u);
    }
    return n;
}
#endif
#endif
