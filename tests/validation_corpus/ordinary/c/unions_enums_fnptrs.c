#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>

typedef enum { ADD, SUB, MUL } Op;

typedef union {
    uint32_t word;
    uint8_t bytes[4];
} Word;

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }

int main(void) {
    int (*table[])(int, int) = {[ADD] = add, [SUB] = sub, [MUL] = mul};
    for (Op op = ADD; op <= MUL; op++) printf("%d ", table[op](6, 3));
    Word w = {.word = 0x01020304u};
    uint64_t bits = 0xF0F0F0F0F0F0F0F0ull;
    printf("| %u %d %" PRIu64 "\n", w.bytes[0], __builtin_popcountll(bits), bits >> 60);
    return 0;
}
