#include <iostream>
#include <cmath>

namespace geo {
struct Vec {
    double x, y;
    Vec operator+(const Vec &o) const { return {x + o.x, y + o.y}; }
    Vec operator*(double k) const { return {x * k, y * k}; }
    bool operator==(const Vec &o) const { return x == o.x && y == o.y; }
    friend std::ostream &operator<<(std::ostream &os, const Vec &v) {
        return os << '(' << v.x << ", " << v.y << ')';
    }
};
inline double norm(const Vec &v) { return std::hypot(v.x, v.y); }
}  // namespace geo

// A simulation object whose members share names with libc: called as members, not as libc.
struct Process {
    int socket = 0;
    int fork() { return ++socket; }
};

int main() {
    geo::Vec a{3, 4}, b{1, 1};
    Process p;
    p.fork();
    std::cout << a + b * 2 << ' ' << geo::norm(a) << ' ' << (a == b) << ' ' << p.socket << '\n';
}
