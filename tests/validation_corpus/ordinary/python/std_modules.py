import collections
import itertools
import math
from functools import reduce

counts = collections.Counter("mississippi")
print(counts.most_common(2))
print(list(itertools.permutations([1, 2, 3], 2)))
print(math.gcd(12, 18), math.isqrt(99), math.comb(5, 2))
print(reduce(lambda a, b: a * b, range(1, 6)))
d = collections.defaultdict(list)
for word in ["apple", "avocado", "banana"]:
    d[word[0]].append(word)
print(dict(d))
print(list(itertools.accumulate([1, 2, 3, 4])))
