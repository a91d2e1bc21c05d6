#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include <iomanip>

int main() {
    std::string line;
    std::vector<double> totals;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        double x, sum = 0;
        while (in >> x) sum += x;
        totals.push_back(sum);
    }
    std::ostringstream out;
    out << std::fixed << std::setprecision(2);
    for (double t : totals) out << t << '\n';
    std::cout << out.str();
}
