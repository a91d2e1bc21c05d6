const readline = require('readline');

const rl = readline.createInterface({ input: process.stdin, terminal: false });
const lines = [];
rl.on('line', (line) => lines.push(line));
rl.on('close', () => {
  const [n, ...rest] = lines;
  const nums = rest.slice(0, Number(n)).map((l) => l.split(' ').map(Number));
  for (const [a, b] of nums) console.log(a + b);
});
