def counter(start=0):
    count = start

    def step(by=1):
        nonlocal count
        count += by
        return count

    return step


def primes():
    found = []
    candidate = 2
    while True:
        if all(candidate % p for p in found):
            found.append(candidate)
            yield candidate
        candidate += 1


tick = counter(10)
tick()
print(tick(5))
gen = primes()
print([next(gen) for _ in range(10)])
words = ["pear", "fig", "banana"]
print(sorted(words, key=lambda w: (len(w), w)))
squares = {x: x * x for x in range(5) if x % 2 == 0}
print(squares, sum(x for x in range(10)))
