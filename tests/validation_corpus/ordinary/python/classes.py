from dataclasses import dataclass, field


class Account:
    interest = 0.02

    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balance += amount
        return self

    def __repr__(self):
        return f"Account({self.owner!r}, {self.balance})"


class Savings(Account):
    def add_interest(self):
        self.balance *= 1 + self.interest


@dataclass(order=True)
class Item:
    priority: int
    name: str = field(compare=False)


acc = Savings("ada").deposit(100)
acc.add_interest()
print(acc, sorted([Item(3, "c"), Item(1, "a")]))
