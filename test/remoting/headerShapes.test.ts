// The binary header decoder builds extFields from a compiled object literal once a key sequence
// has been seen often (headerCodec.ts, SHAPE_COMPILE_AFTER): the objects it builds must equal
// the key-by-key ones before and after that switch, for every sequence the wire allows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBinaryHeader } from '../../protocol/headerCodec.js';

/** A ROCKETMQ binary header with these extFields entries in this order (duplicates allowed). */
function binaryHeader(entries: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of entries) {
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const head = Buffer.alloc(2);
    head.writeInt16BE(k.length);
    const length = Buffer.alloc(4);
    length.writeInt32BE(v.length);
    parts.push(head, k, length, v);
  }
  const ext = Buffer.concat(parts);
  const fixed = Buffer.alloc(21);
  fixed.writeInt16BE(310, 0); // code
  fixed.writeInt8(0, 2); // JAVA
  fixed.writeInt16BE(401, 3);
  fixed.writeInt32BE(7, 5); // opaque
  fixed.writeInt32BE(0, 9); // flag
  fixed.writeInt32BE(0, 13); // no remark
  fixed.writeInt32BE(ext.length, 17);
  return Buffer.concat([fixed, ext]);
}

const ROUNDS = 60; // well past the compile threshold

const cases: Array<{ name: string; entries: Array<[string, string]>; expected: Record<string, string> }> = [
  {
    name: 'SEND_MESSAGE_V2 keys a..m',
    entries: 'abcdefghijklm'.split('').map((k, i) => [k, `value-${i}`]),
    expected: Object.fromEntries('abcdefghijklm'.split('').map((k, i) => [k, `value-${i}`])),
  },
  { name: 'a repeated key keeps its last value', entries: [['a', 'first'], ['b', 'x'], ['a', 'second']], expected: { a: 'second', b: 'x' } },
  { name: 'empty key, number-like keys and an empty value', entries: [['', 'empty key'], ['1', 'one'], ['07', ''], ['zz', 'two bytes']], expected: { '': 'empty key', 1: 'one', '07': '', zz: 'two bytes' } },
  { name: 'non-ASCII key and value', entries: [['é', 'ünïcode ✓'], ['b', 'x']], expected: { é: 'ünïcode ✓', b: 'x' } },
  { name: 'long keys mixed in (never compiled)', entries: [['a', '1'], ['longKeyName', 'long'], ['b', '2']], expected: { a: '1', longKeyName: 'long', b: '2' } },
];

for (const { name, entries, expected } of cases) {
  test(`extFields from the binary header: ${name} (before and after the sequence is compiled)`, () => {
    const bytes = binaryHeader(entries);
    const decoded = [];
    for (let round = 0; round < ROUNDS; round++) decoded.push(decodeBinaryHeader(bytes).extFields);
    for (const [round, fields] of decoded.entries()) {
      assert.deepEqual({ ...fields }, expected, `round ${round}`);
      assert.deepEqual(Object.keys(fields ?? {}).sort(), Object.keys(expected).sort(), `round ${round}: no extra keys`);
    }
    // Every decode gets its own object.
    (decoded[ROUNDS - 1] as Record<string, string>).mutated = 'yes';
    assert.equal(decodeBinaryHeader(bytes).extFields?.mutated, undefined);
  });
}

test('a compiled sequence does not capture values from another header with the same keys', () => {
  const keys = ['a', 'b', 'c'];
  for (let round = 0; round < ROUNDS; round++) {
    const values = keys.map((k) => `${k}${round}`);
    const fields = decodeBinaryHeader(binaryHeader(keys.map((k, i) => [k, values[i]]))).extFields;
    assert.deepEqual({ ...fields }, { a: `a${round}`, b: `b${round}`, c: `c${round}` });
  }
});
