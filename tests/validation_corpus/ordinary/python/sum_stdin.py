import sys


def main() -> None:
    data = sys.stdin.read().split()
    n = int(data[0])
    values = list(map(int, data[1 : 1 + n]))
    print(sum(values))


main()
