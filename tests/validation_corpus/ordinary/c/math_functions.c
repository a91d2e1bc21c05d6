#include <math.h>
#include <stdio.h>
#include <float.h>
#include <limits.h>

static double integrate(double (*f)(double), double a, double b, int steps) {
    double h = (b - a) / steps, sum = 0.5 * (f(a) + f(b));
    for (int i = 1; i < steps; i++) sum += f(a + i * h);
    return sum * h;
}

int main(void) {
    printf("%.6f\n", integrate(sin, 0.0, acos(-1.0), 1000));
    printf("%.3f %.3f %d\n", sqrt(2.0), pow(2.0, 10.0), INT_MAX > 0);
    printf("%e %g\n", DBL_EPSILON, hypot(3.0, 4.0));
    return 0;
}
