/*
 * cexec-enter: the worker's launcher and supervisor for one sandboxed stage. Runs as root, outside
 * the sandbox.
 *
 *     cexec-enter UID GID [CGROUP_PROCS_FILE]... -- PROGRAM [ARG]...
 *
 * The child joins the stage's cgroups (so Firejail and everything it starts are limited and
 * counted from their first instruction, with no race), drops every group, becomes UID:GID for
 * real, saved and effective IDs alike, and execs PROGRAM (Firejail, which is setuid and drops
 * again). Doing this in a tiny exec'd program avoids running Python code between fork and exec.
 *
 * The parent stays, as root and outside the cgroups, and supervises: it asks the kernel for
 * SIGTERM when the worker dies (PR_SET_PDEATHSIG; the setting would not survive exec'ing the
 * setuid Firejail, so it must live here) and then kills every task of the stage's cgroups. So a
 * sandbox never outlives a worker killed with SIGKILL. It exits with the child's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_ROUNDS 100

static volatile sig_atomic_t orphaned = 0;

static void on_parent_death(int sig) {
    (void)sig;
    orphaned = 1;
}

static int fail(const char *what) {
    fprintf(stderr, "cexec-enter: %s: %s\n", what, strerror(errno));
    return 125;
}

/* SIGKILL every task listed in the cgroups' cgroup.procs until none is left. */
static void kill_cgroups(char **files, int count) {
    for (int round = 0; round < KILL_ROUNDS; round++) {
        int found = 0;
        for (int i = 0; i < count; i++) {
            FILE *f = fopen(files[i], "re");
            if (f == NULL) continue;
            int pid;
            while (fscanf(f, "%d", &pid) == 1) {
                found = 1;
                kill(pid, SIGKILL);
            }
            fclose(f);
        }
        if (!found) return;
        usleep(2000);
    }
}

static int become(uid_t uid, gid_t gid, char **files, int count) {
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    for (int i = 0; i < count; i++) {
        int fd = open(files[i], O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || write(fd, pid, (size_t)len) != len) return fail(files[i]);
        close(fd);
    }
    if (setgroups(0, NULL) != 0) return fail("setgroups");
    if (setresgid(gid, gid, gid) != 0) return fail("setresgid");
    if (setresuid(uid, uid, uid) != 0) return fail("setresuid");
    if (getuid() != uid || geteuid() != uid || getegid() != gid) return fail("identity check");
    return 0;
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
    int first = 3, i;
    for (i = first; i < argc && strcmp(argv[i], "--") != 0; i++) {
    }
    if (i + 1 >= argc) return fail("missing program");
    char **files = argv + first, **program = argv + i + 1;
    int count = i - first;

    pid_t worker = getppid();
    struct sigaction action = {.sa_handler = on_parent_death};
    sigaction(SIGTERM, &action, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != worker) orphaned = 1; /* the worker died before the line above */

    pid_t child = orphaned ? -1 : fork();
    if (child < 0 && !orphaned) return fail("fork");
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);
        int failed = become(uid, gid, files, count);
        if (failed) _exit(failed);
        execv(program[0], program);
        _exit(fail(program[0]));
    }
    int status = 0;
    while (child > 0) {
        if (orphaned) {
            kill_cgroups(files, count);
            kill(child, SIGKILL);
        }
        pid_t done = waitpid(child, &status, 0);
        if (done == child) break;
        if (done < 0 && errno != EINTR) return fail("waitpid");
    }
    if (orphaned) kill_cgroups(files, count);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
