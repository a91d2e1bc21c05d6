#include <stdio.h>
#include <stdbool.h>

#define N 8

static int solutions;
static bool cols[N], diag1[2 * N], diag2[2 * N];

static void place(int row) {
    if (row == N) {
        solutions++;
        return;
    }
    for (int c = 0; c < N; c++) {
        if (cols[c] || diag1[row + c] || diag2[row - c + N]) continue;
        cols[c] = diag1[row + c] = diag2[row - c + N] = true;
        place(row + 1);
        cols[c] = diag1[row + c] = diag2[row - c + N] = false;
    }
}

static unsigned long ackermann(unsigned long m, unsigned long n) {
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

int main(void) {
    place(0);
    printf("%d %lu\n", solutions, ackermann(2, 3));
    return 0;
}
