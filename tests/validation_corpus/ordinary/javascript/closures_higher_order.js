const compose = (...fns) => (x) => fns.reduceRight((acc, f) => f(acc), x);
const inc = (x) => x + 1;
const double = (x) => x * 2;
console.log(compose(inc, double)(5));

function makeCounter() {
  let count = 0;
  return { next: () => ++count, reset() { count = 0; } };
}
const c = makeCounter();
c.next(); c.next();
console.log(c.next());

const words = ['delta', 'alpha', 'charlie', 'bravo'];
const byLength = words.filter((w) => w.length > 4).map((w) => w.toUpperCase()).sort();
console.log(byLength, words.reduce((acc, w) => acc + w.length, 0));
const memo = new Map();
const slow = (n) => (memo.has(n) ? memo.get(n) : (memo.set(n, n * n), memo.get(n)));
console.log(slow(12), slow(12));
