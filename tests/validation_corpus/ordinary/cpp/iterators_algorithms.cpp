#include <algorithm>
#include <iostream>
#include <iterator>
#include <numeric>
#include <vector>

int main() {
    std::vector<int> v(10);
    std::iota(v.begin(), v.end(), 1);
    std::vector<int> squares;
    std::transform(v.begin(), v.end(), std::back_inserter(squares), [](int x) { return x * x; });
    auto evens = std::count_if(squares.begin(), squares.end(), [](int x) { return x % 2 == 0; });
    std::reverse(v.begin(), v.end());
    std::nth_element(v.begin(), v.begin() + 4, v.end());
    bool found = std::binary_search(squares.begin(), squares.end(), 49);
    std::copy(squares.begin(), squares.begin() + 3, std::ostream_iterator<int>(std::cout, " "));
    std::cout << evens << ' ' << found << ' ' << *std::max_element(v.begin(), v.end()) << '\n';
}
