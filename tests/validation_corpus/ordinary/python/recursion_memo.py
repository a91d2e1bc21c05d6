import sys
from functools import cache

sys.setrecursionlimit(10000)


@cache
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def hanoi(n, a="A", b="B", c="C", moves=None):
    moves = [] if moves is None else moves
    if n:
        hanoi(n - 1, a, c, b, moves)
        moves.append((a, c))
        hanoi(n - 1, b, a, c, moves)
    return moves


print(fib(200), len(hanoi(10)))
