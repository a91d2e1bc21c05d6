#include <bits/stdc++.h>
using namespace std;

int main() {
    int n = 6;
    vector<vector<int>> adj(n);
    vector<pair<int, int>> edges = {{0, 1}, {0, 2}, {1, 3}, {1, 4}, {2, 5}};
    for (auto [u, v] : edges) adj[u].push_back(v), adj[v].push_back(u);
    vector<int> depth(n, 0);
    auto dfs = [&](auto &&self, int u, int parent) -> void {
        for (int v : adj[u])
            if (v != parent) depth[v] = depth[u] + 1, self(self, v, u);
    };
    dfs(dfs, 0, -1);
    function<long long(int)> fact = [&](int k) { return k <= 1 ? 1LL : k * fact(k - 1); };
    auto cmp = [](int a, int b) { return a > b; };
    sort(depth.begin(), depth.end(), cmp);
    cout << depth[0] << ' ' << fact(10) << '\n';
}
