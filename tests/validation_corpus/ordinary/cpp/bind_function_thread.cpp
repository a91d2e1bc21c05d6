#include <functional>
#include <iostream>
#include <thread>
#include <mutex>
#include <vector>

using namespace std::placeholders;

int scale(int factor, int x) { return factor * x; }

int main() {
    auto triple = std::bind(scale, 3, _1);
    std::function<int(int)> f = triple;
    std::mutex m;
    int total = 0;
    std::vector<std::thread> pool;
    for (int i = 1; i <= 3; i++)
        pool.emplace_back([&, i] {
            std::lock_guard<std::mutex> lock(m);
            total += f(i);
        });
    for (auto &t : pool) t.join();
    std::cout << total << '\n';
}
