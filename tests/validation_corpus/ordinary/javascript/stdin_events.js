'use strict';
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const words = input.split('\n').filter(Boolean);
  process.stdout.write(words.reverse().join('\n') + '\n');
  process.exitCode = 0;
});
