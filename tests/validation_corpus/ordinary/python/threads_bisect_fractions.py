import bisect
import random
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, getcontext
from fractions import Fraction

random.seed(1)
values = sorted(random.randint(0, 100) for _ in range(20))
print(bisect.bisect_left(values, 50), Fraction(1, 3) + Fraction(1, 6))
getcontext().prec = 30
print(Decimal(1) / Decimal(7))
start = time.perf_counter()
with ThreadPoolExecutor(max_workers=2) as pool:
    print(list(pool.map(lambda x: x * x, range(5))))
print(time.perf_counter() - start >= 0)
