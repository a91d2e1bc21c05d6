const memo = new Map();
function fib(n) {
  if (n < 2n) return n;
  if (memo.has(n)) return memo.get(n);
  const value = fib(n - 1n) + fib(n - 2n);
  memo.set(n, value);
  return value;
}
console.log(fib(300n).toString());

function permutations(items) {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]));
}
console.log(permutations([1, 2, 3]).length);
const ackermann = (m, n) => (m === 0 ? n + 1 : n === 0 ? ackermann(m - 1, 1) : ackermann(m - 1, ackermann(m, n - 1)));
console.log(ackermann(2, 3));
