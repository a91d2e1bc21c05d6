/*
 * cexec-enter: the worker's launcher for one sandboxed stage. Runs as root, outside the sandbox.
 *
 *     cexec-enter UID GID [CGROUP_PROCS_FILE]... -- PROGRAM [ARG]...
 *
 * Moves itself into the job's cgroups (so Firejail and everything it starts are limited and
 * counted from the first instruction, with no race), drops every group, becomes UID:GID for real,
 * saved and effective IDs alike, and execs PROGRAM (Firejail, which is setuid and drops again).
 * Doing this in a tiny exec'd program avoids running Python code between fork and exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what) {
    fprintf(stderr, "cexec-enter: %s: %s\n", what, strerror(errno));
    return 125;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: cexec-enter UID GID [CGROUP_PROCS]... -- PROGRAM [ARG]...\n");
        return 125;
    }
    uid_t uid = (uid_t)strtoul(argv[1], NULL, 10);
    gid_t gid = (gid_t)strtoul(argv[2], NULL, 10);
    if (uid == 0 || gid == 0) {
        fprintf(stderr, "cexec-enter: refusing to run a sandbox as root\n");
        return 125;
    }
    int i;
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    for (i = 3; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int fd = open(argv[i], O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || write(fd, pid, (size_t)len) != len) return fail(argv[i]);
        close(fd);
    }
    if (i + 1 >= argc) return fail("missing program");
    if (setgroups(0, NULL) != 0) return fail("setgroups");
    if (setresgid(gid, gid, gid) != 0) return fail("setresgid");
    if (setresuid(uid, uid, uid) != 0) return fail("setresuid");
    if (getuid() != uid || geteuid() != uid || getegid() != gid) return fail("identity check");
    execv(argv[i + 1], argv + i + 1);
    return fail(argv[i + 1]);
}
