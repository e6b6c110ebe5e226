// Strict reads of request header fields (extFields are strings). Java parses them with
// Integer/Long.parseLong, so "", "0.5", "1e3", "0x10" and " 1" are errors there and here;
// each value is also checked against its range before any offset is assigned, and a bad one
// names the field and the value (the processor answers SYSTEM_ERROR with that remark, as
// RocketMQ does for a header it cannot decode).
import { FlushbenchError } from '../../protocol/errors.js';

export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;
/** Java long values we handle as numbers (offsets, timestamps) must stay exact. */
export const LONG_MAX = Number.MAX_SAFE_INTEGER;
export const LONG_MIN = Number.MIN_SAFE_INTEGER;

const DECIMAL = /^[+-]?\d{1,20}$/;
const VALUE_CHARS_MAX = 40;

export type Fields = Readonly<Record<string, string>> | undefined;

export function missingHeader(name: string): never {
  throw new FlushbenchError('MISSING_HEADER', `the request misses the required header field ${name}`);
}

function shown(value: string): string {
  return JSON.stringify(value.length > VALUE_CHARS_MAX ? `${value.slice(0, VALUE_CHARS_MAX)}…` : value);
}

/** Up to 15 digits are exact in a double: such values are read by a char loop (the hot path). */
const FAST_DIGITS_MAX = 15;

/** Java's parseLong for [+-]?digits of at most 15 digits; NaN otherwise (the slow path decides). */
function parseShortDecimal(value: string): number {
  const length = value.length;
  let i = 0;
  let sign = 1;
  const first = value.charCodeAt(0);
  if (first === 45 /* - */ || first === 43 /* + */) {
    sign = first === 45 ? -1 : 1;
    i = 1;
  }
  if (length === i || length - i > FAST_DIGITS_MAX) return Number.NaN;
  let result = 0;
  for (; i < length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    result = result * 10 + digit;
  }
  return sign === 1 ? result : -result || 0; // Java longs have no -0
}

/**
 * `value` as an integer in min..max, or a BAD_HEADER error naming the field, the value and the
 * range. A number is a value its reader already parsed (sendHeaders.ts, from the bytes): only its range is checked.
 */
export function parseIntegerField(value: string | number, name: string, min: number, max: number): number {
  let parsed = typeof value === 'number' ? value : parseShortDecimal(value);
  if (Number.isNaN(parsed) && typeof value === 'string') parsed = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new FlushbenchError('BAD_HEADER', `header field ${name}=${shown(String(value))} is not an integer in ${min}..${max}`);
  }
  return parsed;
}

/** A required integer field. */
export function requiredInt(fields: Fields, key: string, min: number, max: number, name = key): number {
  const value = fields?.[key];
  if (value === undefined) missingHeader(name);
  return parseIntegerField(value, name, min, max);
}

/** An optional integer field: `fallback` when absent, checked like a required one when present. */
export function optionalInt(fields: Fields, key: string, fallback: number, min: number, max: number, name = key): number {
  const value = fields?.[key];
  return value === undefined ? fallback : parseIntegerField(value, name, min, max);
}

/** A required string field (may be empty; names are checked by nameValidator). */
export function requiredText(fields: Fields, key: string, name = key): string {
  const value = fields?.[key];
  return value === undefined ? missingHeader(name) : value;
}
