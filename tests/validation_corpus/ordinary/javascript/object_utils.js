const util = require('util');
const assert = require('assert');
const { EventEmitter } = require('events');
const path = require('path');

class Clock extends EventEmitter {
  tick(n) { for (let i = 0; i < n; i++) this.emit('tick', i); }
}
const clock = new Clock();
let ticks = 0;
clock.on('tick', () => ticks++);
clock.tick(3);
assert.strictEqual(ticks, 3);
const frozen = Object.freeze({ deep: { value: 1 } });
console.log(util.format('%s has %d keys', 'frozen', Object.keys(frozen).length), path.extname('a.txt'));
console.log(structuredClone({ a: [1, 2] }), Array.isArray([]), typeof Symbol('s'));
