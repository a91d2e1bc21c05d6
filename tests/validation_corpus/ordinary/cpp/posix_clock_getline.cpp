// POSIX from C++: clock_gettime, usleep, strdup, getline(3), fileno.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unistd.h>

int main() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char *line = nullptr;
    size_t cap = 0;
    long total = 0;
    while (getline(&line, &cap, stdin) > 0) {
        char *copy = strdup(line);
        total += std::strtol(copy, nullptr, 10);
        std::free(copy);
    }
    std::free(line);
    usleep(1000);
    std::printf("sum %ld fd %d\n", total, fileno(stdout));
}
