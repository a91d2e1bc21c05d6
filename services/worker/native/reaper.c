/*
 * cexec-reaper: the first process of every sandboxed stage, started by Firejail as the slot user.
 *
 *     cexec-reaper STATUS_FD [-e NAME=VALUE]... -- PROGRAM [ARG]...
 *
 * It runs PROGRAM with exactly the given environment, waits for it, then kills every other process
 * left in the sandbox (kill(-1) reaches only this PID namespace) and waits for them, so a daemon the
 * program started cannot hold the job open or outlive it. Firejail on its own waits for every
 * process in the sandbox; --deterministic-shutdown costs about 100 ms per run, this costs nothing.
 *
 * It writes "started <pid ns> <net ns>\n" (the links /proc/self/ns/pid and /proc/self/ns/net) to
 * STATUS_FD once the sandbox is up, so the worker can check on every job that the stage really
 * runs in namespaces of its own, and when the program has ended:
 *     "<exit code or -1> <signal or 0> <wall µs> <cpu µs> <max rss KiB>\n"
 * so the worker tells a sandbox that never started (our fault) from a reaper the program killed.
 * The program runs as our UID, so we make ourselves non-dumpable: /proc/<our pid>/fd then belongs
 * to root and the program cannot reopen STATUS_FD to forge that line (proc(5), PR_SET_DUMPABLE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 32

static long long elapsed_us(const struct timespec *a, const struct timespec *b) {
    return (long long)(b->tv_sec - a->tv_sec) * 1000000LL + (b->tv_nsec - a->tv_nsec) / 1000;
}

static void kill_the_rest(void) {
    /* kill(-1) fails with ESRCH once nothing of ours is left; a zombie still counts, so reap. */
    while (kill(-1, SIGKILL) == 0) {
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
        }
    }
}

int main(int argc, char **argv) {
    char *env[MAX_ENV + 1];
    int nenv = 0, i;
    if (argc < 4) goto usage;
    int status_fd = atoi(argv[1]);
    long long stack = 0; /* -s BYTES: the program's stack limit (soft = hard); 0: inherited */
    for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            stack = atoll(argv[++i]);
            continue;
        }
        if (strcmp(argv[i], "-e") != 0 || i + 1 >= argc || nenv >= MAX_ENV) goto usage;
        env[nenv++] = argv[++i];
    }
    if (i + 1 >= argc) goto usage;
    env[nenv] = NULL;
    char **program = argv + i + 1;

    prctl(PR_SET_DUMPABLE, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans come back to us, to be killed and counted */
    fcntl(status_fd, F_SETFD, FD_CLOEXEC);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* Firejail sets the CPU limit's soft and hard values equal, so the kernel would SIGKILL; one
     * second less for the soft limit gives SIGXCPU first, which the worker reads as a timeout. */
    struct rlimit cpu_limit;
    if (getrlimit(RLIMIT_CPU, &cpu_limit) == 0 && cpu_limit.rlim_max != RLIM_INFINITY &&
        cpu_limit.rlim_max > 1) {
        cpu_limit.rlim_cur = cpu_limit.rlim_max - 1;
        setrlimit(RLIMIT_CPU, &cpu_limit);
    }

    /* Only ever lowered: an unprivileged process cannot raise its hard limit, and neither can we
     * here (we run as the slot's user), so a value above the inherited hard limit is capped. */
    struct rlimit stack_limit;
    if (stack > 0 && getrlimit(RLIMIT_STACK, &stack_limit) == 0) {
        rlim_t want = (rlim_t)stack;
        if (stack_limit.rlim_max != RLIM_INFINITY && want > stack_limit.rlim_max)
            want = stack_limit.rlim_max;
        stack_limit.rlim_cur = stack_limit.rlim_max = want;
        setrlimit(RLIMIT_STACK, &stack_limit);
    }

    char pid_ns[64] = "?", net_ns[64] = "?";
    ssize_t n = readlink("/proc/self/ns/pid", pid_ns, sizeof pid_ns - 1);
    pid_ns[n > 0 ? n : 1] = '\0';
    n = readlink("/proc/self/ns/net", net_ns, sizeof net_ns - 1);
    net_ns[n > 0 ? n : 1] = '\0';
    if (dprintf(status_fd, "started %s %s\n", pid_ns, net_ns) < 0) {
        perror("cexec-reaper: status fd");
        return 125;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t child = fork();
    if (child < 0) {
        perror("cexec-reaper: fork");
        return 125;
    }
    if (child == 0) {
        execve(program[0], program, env);
        fprintf(stderr, "cannot execute %s: %s\n", program[0], strerror(errno));
        _exit(127);
    }
    int status = 0;
    for (;;) {
        pid_t pid = waitpid(-1, &status, 0);
        if (pid == child) break;
        if (pid < 0 && errno != EINTR) return 125;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    kill_the_rest();

    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    long long cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
                    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    dprintf(status_fd, "%d %d %lld %lld %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            WIFSIGNALED(status) ? WTERMSIG(status) : 0, elapsed_us(&start, &end), cpu,
            ru.ru_maxrss);
    return 0;

usage:
    fprintf(stderr,
            "usage: cexec-reaper STATUS_FD [-s STACK_BYTES] [-e NAME=VALUE]... -- PROGRAM...\n");
    return 125;
}
