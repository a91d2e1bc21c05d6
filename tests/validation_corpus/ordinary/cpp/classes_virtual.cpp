#include <iostream>
#include <memory>
#include <vector>
#include <string>

class Animal {
public:
    explicit Animal(std::string name) : name_(std::move(name)) {}
    virtual ~Animal() = default;
    virtual std::string sound() const = 0;
    std::string describe() const { return name_ + " says " + sound(); }
private:
    std::string name_;
};

class Dog : public Animal {
public:
    Dog() : Animal("dog") {}
    std::string sound() const override { return "woof"; }
};

class Cat final : public Animal {
public:
    Cat() : Animal("cat") {}
    std::string sound() const override { return "meow"; }
};

int main() {
    std::vector<std::unique_ptr<Animal>> zoo;
    zoo.push_back(std::make_unique<Dog>());
    zoo.emplace_back(new Cat());
    for (const auto &a : zoo) std::cout << a->describe() << '\n';
}
