/* A simulation whose own names collide with libc's: a fork array, a `socket` field. */
#include <stdio.h>

#define PHILOSOPHERS 5

struct plug {
    int socket;
};

int fork[PHILOSOPHERS];

static int take(int who) {
    int left = who, right = (who + 1) % PHILOSOPHERS;
    if (fork[left] || fork[right]) return 0;
    fork[left] = fork[right] = 1;
    return 1;
}

int main(void) {
    struct plug p = {.socket = 3};
    int eating = 0;
    for (int i = 0; i < PHILOSOPHERS; i += 2) eating += take(i);
    printf("%d eating, socket %d, fork[0]=%d\n", eating, p.socket, fork[0]);
    return 0;
}
