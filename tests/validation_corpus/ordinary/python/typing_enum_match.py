from enum import Enum
from typing import NamedTuple


class Shape(Enum):
    CIRCLE = "circle"
    SQUARE = "square"


class Point(NamedTuple):
    x: int
    y: int


def describe(value: object) -> str:
    match value:
        case Point(x=0, y=0):
            return "origin"
        case Point(x=x, y=0):
            return f"on the x axis at {x}"
        case Shape.CIRCLE:
            return "round"
        case [first, *rest]:
            return f"list starting with {first} and {len(rest)} more"
        case {"kind": kind, **others}:
            return f"a {kind} with {sorted(others)}"
        case _:
            return "something else"


for v in (Point(0, 0), Point(3, 0), Shape.CIRCLE, [1, 2, 3], {"kind": "box", "w": 1}, 7):
    print(describe(v))
