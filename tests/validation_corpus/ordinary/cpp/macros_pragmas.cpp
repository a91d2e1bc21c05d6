#pragma GCC optimize("O3,unroll-loops")
#include <bits/stdc++.h>
#define int long long
#define all(x) (x).begin(), (x).end()
#define rep(i, a, b) for (int i = (a); i < (b); ++i)
#define debug(x) cerr << #x << " = " << (x) << endl
using namespace std;
using pii = pair<int, int>;
const int MOD = 1'000'000'007;

int power(int b, int e) {
    int r = 1;
    for (b %= MOD; e; e >>= 1, b = b * b % MOD)
        if (e & 1) r = r * b % MOD;
    return r;
}

signed main() {
    vector<pii> v;
    rep(i, 0, 5) v.emplace_back(i, power(2, i));
    sort(all(v), [](const pii &a, const pii &b) { return a.second > b.second; });
    cout << v.front().second << '\n';
    return 0;
}
