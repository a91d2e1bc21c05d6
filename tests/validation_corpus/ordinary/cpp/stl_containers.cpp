#include <bits/stdc++.h>
using namespace std;
typedef long long ll;

int main() {
    map<string, int> freq;
    for (string w : {"a", "b", "a", "c", "a"}) freq[w]++;
    set<int> s = {5, 1, 9, 3};
    auto it = s.lower_bound(4);
    priority_queue<pair<ll, int>, vector<pair<ll, int>>, greater<>> pq;
    pq.push({3, 1});
    pq.push({1, 2});
    unordered_map<int, vector<int>> groups;
    groups[1].push_back(2);
    deque<int> dq{1, 2, 3};
    dq.push_front(0);
    multiset<int> ms{1, 1, 2};
    bitset<16> bits(0xF0F0);
    cout << freq["a"] << ' ' << *it << ' ' << pq.top().second << ' ' << dq.front() << ' '
         << ms.count(1) << ' ' << bits.count() << ' ' << groups.size() << '\n';
}
