#include <stdio.h>
#include <ctype.h>

static int read_int(int *out) {
    int c = getchar(), sign = 1, value = 0;
    while (c != EOF && !isdigit(c) && c != '-') c = getchar();
    if (c == EOF) return 0;
    if (c == '-') { sign = -1; c = getchar(); }
    while (c != EOF && isdigit(c)) { value = value * 10 + (c - '0'); c = getchar(); }
    *out = sign * value;
    return 1;
}

int main(void) {
    int x, count = 0, best = -2147483647;
    while (read_int(&x)) {
        count++;
        if (x > best) best = x;
    }
    printf("%d %d\n", count, best);
    return 0;
}
