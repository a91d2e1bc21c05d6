import { readFileSync } from 'node:fs';
import { createInterface } from 'readline';
import path from 'path';
import { EOL } from 'os';
import assert from 'node:assert';
import { inspect } from 'util';

const text = readFileSync(0, 'utf8');
const counts = {};
for (const word of text.split(/\s+/).filter(Boolean)) counts[word] = (counts[word] || 0) + 1;
assert.ok(typeof createInterface === 'function');
process.stdout.write(inspect(counts) + EOL + path.join('a', 'b') + EOL);
