// parseIntegerField reads like Java's Long.parseLong with a range: the char-loop fast path and
// the regex path must agree on every edge.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INT32_MAX, INT32_MIN, LONG_MAX, LONG_MIN, parseIntegerField } from '../../broker/server/headerFields.js';

const parse = (value: string, min = LONG_MIN, max = LONG_MAX) => parseIntegerField(value, 'f', min, max);

test('integers with an optional sign parse, on both sides of the 15-digit fast path', () => {
  assert.equal(parse('0'), 0);
  assert.equal(parse('-0'), 0);
  assert.equal(parse('+7'), 7);
  assert.equal(parse('-42'), -42);
  assert.equal(parse('123456789012345'), 123456789012345);
  assert.equal(parse('-123456789012345'), -123456789012345);
  assert.equal(parse('1234567890123456'), 1234567890123456);
  assert.equal(parse('9007199254740991'), LONG_MAX);
  assert.equal(parse(String(INT32_MIN), INT32_MIN, INT32_MAX), INT32_MIN);
});

test('what Java refuses is refused, naming the field, the value and the range', () => {
  for (const bad of ['', '+', '-', '0.5', '1e3', '0x10', ' 1', '1 ', '١', '--1', '9007199254740993', '99999999999999999999999']) {
    assert.throws(() => parse(bad), (error: Error & { code?: string }) => error.code === 'BAD_HEADER' && /header field f=.* is not an integer in/.test(error.message), JSON.stringify(bad));
  }
  assert.throws(() => parse('2147483648', INT32_MIN, INT32_MAX), /not an integer in -2147483648\.\.2147483647/);
  assert.throws(() => parse('-1', 0, 10), /0\.\.10/);
});
