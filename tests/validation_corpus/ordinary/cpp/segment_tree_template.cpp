#include <bits/stdc++.h>
using namespace std;

template <typename T, typename Op = plus<T>>
struct SegTree {
    int n;
    vector<T> t;
    T identity;
    Op op;
    SegTree(int size, T id = T()) : n(size), t(2 * size, id), identity(id) {}
    void update(int i, T v) {
        for (t[i += n] = v; i > 1; i >>= 1) t[i >> 1] = op(t[i], t[i ^ 1]);
    }
    T query(int l, int r) const {
        T res = identity;
        for (l += n, r += n; l < r; l >>= 1, r >>= 1) {
            if (l & 1) res = op(res, t[l++]);
            if (r & 1) res = op(res, t[--r]);
        }
        return res;
    }
};

int main() {
    SegTree<long long> st(8);
    for (int i = 0; i < 8; i++) st.update(i, i * i);
    cout << st.query(2, 5) << "\n";
}
