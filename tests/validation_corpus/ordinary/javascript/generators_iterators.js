function* range(start, end, step = 1) {
  for (let i = start; i < end; i += step) yield i;
}

class Tree {
  constructor(value, children = []) { this.value = value; this.children = children; }
  *[Symbol.iterator]() {
    yield this.value;
    for (const child of this.children) yield* child;
  }
}

console.log([...range(0, 10, 3)]);
const tree = new Tree(1, [new Tree(2, [new Tree(4)]), new Tree(3)]);
console.log(Array.from(tree));
const entries = Object.entries({ a: 1, b: 2 });
for (const [key, value] of entries) console.log(key, value);
const set = new Set([3, 1, 3, 2]);
console.log([...set].sort((a, b) => a - b), new WeakMap() instanceof WeakMap);
