#include <bits/stdc++.h>
using namespace std;

constexpr long long choose(int n, int k) { return k == 0 ? 1 : choose(n - 1, k - 1) * n / k; }

optional<int> find_index(const vector<int> &v, int x) {
    auto it = find(v.begin(), v.end(), x);
    if (it == v.end()) return nullopt;
    return int(it - v.begin());
}

int main() {
    static_assert(choose(5, 2) == 10);
    map<string, pair<int, double>> m{{"a", {1, 2.5}}};
    for (const auto &[key, value] : m) {
        auto [count, weight] = value;
        cout << key << ' ' << count << ' ' << weight << '\n';
    }
    variant<int, string> var = string("hi");
    cout << visit([](auto &&x) { return sizeof(x) > 0; }, var) << ' '
         << find_index({4, 5, 6}, 6).value_or(-1) << '\n';
}
