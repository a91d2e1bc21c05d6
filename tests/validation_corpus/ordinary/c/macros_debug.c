#include <stdio.h>

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define REP(i, n) for (int i = 0; i < (n); i++)
#define STR(x) #x
#define CAT(a, b) a##b
#ifdef DEBUG
#define LOG(...) fprintf(stderr, __VA_ARGS__)
#else
#define LOG(...) ((void)0)
#endif

int main(void) {
    int CAT(my, value) = 0;
    REP(i, 10) {
        myvalue = MAX(myvalue, i * 3 % 7);
        LOG("i=%d\n", i);
    }
    printf("%s = %d\n", STR(myvalue), myvalue);
    return 0;
}
