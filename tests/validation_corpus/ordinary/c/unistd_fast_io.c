#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static char in[1 << 16];
static char out[1 << 16];

int main(void) {
    ssize_t n = read(0, in, sizeof in - 1);
    if (n < 0) n = 0;
    in[n] = '\0';
    long total = 0;
    char *p = in, *end;
    for (long v = strtol(p, &end, 10); p != end; v = strtol(p, &end, 10)) {
        total += v;
        p = end;
    }
    int len = 0;
    char digits[24];
    do digits[len++] = (char)('0' + total % 10); while ((total /= 10) > 0);
    for (int i = 0; i < len; i++) out[i] = digits[len - 1 - i];
    out[len] = '\n';
    write(1, out, (size_t)len + 1);
    return 0;
}
