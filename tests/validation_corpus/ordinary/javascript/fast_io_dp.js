const input = require('fs').readFileSync('/dev/stdin', 'utf8');
let pos = 0;
const next = () => {
  while (pos < input.length && input.charCodeAt(pos) <= 32) pos++;
  let start = pos;
  while (pos < input.length && input.charCodeAt(pos) > 32) pos++;
  return input.slice(start, pos);
};
const n = Number(next() || 5);
const dp = new Array(n + 1).fill(0);
dp[0] = 1;
for (const coin of [1, 2, 5]) for (let s = coin; s <= n; s++) dp[s] += dp[s - coin];
const out = [];
out.push(dp[n]);
console.log(out.join('\n'));
