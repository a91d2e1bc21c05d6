const { stdin, stdout, argv } = process;
const limit = 100000;
const sieve = new Uint8Array(limit + 1).fill(1);
sieve[0] = sieve[1] = 0;
for (let i = 2; i * i <= limit; i++) {
  if (sieve[i]) for (let j = i * i; j <= limit; j += i) sieve[j] = 0;
}
let count = 0;
for (let i = 0; i <= limit; i++) count += sieve[i];
stdout.write(`${count} ${argv.length > 0} ${typeof stdin}\n`);
const buffer = Buffer.from('hello');
console.log(buffer.toString('base64'), new DataView(new ArrayBuffer(8)).byteLength);
