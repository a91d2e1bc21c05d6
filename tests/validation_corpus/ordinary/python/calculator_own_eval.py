# A calculator that defines its own eval() and compile(): the program's names, not the builtins.
import re

TOKEN = re.compile(r"\s*(\d+|[-+*/()])")


def compile(text):
    return TOKEN.findall(text)


def eval(tokens):
    pos = 0

    def expr():
        nonlocal pos
        value = term()
        while pos < len(tokens) and tokens[pos] in "+-":
            op = tokens[pos]
            pos += 1
            value = value + term() if op == "+" else value - term()
        return value

    def term():
        nonlocal pos
        value = atom()
        while pos < len(tokens) and tokens[pos] in "*/":
            op = tokens[pos]
            pos += 1
            value = value * atom() if op == "*" else value // atom()
        return value

    def atom():
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            value = expr()
            pos += 1
            return value
        return int(token)

    return expr()


print(eval(compile("2 * (3 + 4) - 5")))
