/* Everyday Linux C: POSIX clocks, sleeping, strdup, getline, fileno. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    double start = now();
    char *line = NULL;
    size_t cap = 0;
    long total = 0;
    while (getline(&line, &cap, stdin) > 0) {
        char *copy = strdup(line);
        total += strtol(copy, NULL, 10);
        free(copy);
    }
    free(line);
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
    usleep(1000);
    printf("sum %ld fd %d elapsed>0 %d\n", total, fileno(stdout), now() > start);
    return 0;
}
