// fastjson (Apache RocketMQ's RemotingSerializable.encode) writes the keys of a Map<Long, …>
// unquoted: {"brokerAddrs":{0:"10.0.0.1:10911"}}. A 4.9.x name server answers routes in that
// legacy form to clients older than 4.9.4 (version < 401) that did not ask for
// acceptStandardJsonOnly, and always for GET_BROKER_CLUSTER_INFO. These helpers read and
// write that form.

/** A bare integer key right after `{` or `,` (with optional spaces), matched at a fixed index. */
const BARE_KEY = /\s*(-?\d+)\s*:/y;

/**
 * JSON.parse that also accepts fastjson's unquoted integer keys. One pass over the text:
 * outside strings, a bare integer after `{` or `,` that is followed by `:` gets quotes.
 * Throws SyntaxError like JSON.parse on anything else that is not JSON.
 */
export function parseLenientJson(text: string): unknown {
  const parts: string[] = [];
  let copiedTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x22) {
      inString = true;
      continue;
    }
    if (ch !== 0x7b && ch !== 0x2c) continue; // '{' or ','
    BARE_KEY.lastIndex = i + 1;
    const match = BARE_KEY.exec(text);
    if (!match) continue;
    parts.push(text.slice(copiedTo, i + 1), `"${match[1]}":`);
    copiedTo = BARE_KEY.lastIndex;
    i = copiedTo - 1;
  }
  if (parts.length === 0) return JSON.parse(text);
  parts.push(text.slice(copiedTo));
  return JSON.parse(parts.join(''));
}

const INTEGER_KEY = /^-?\d+$/;

/**
 * fastjson's legacy output for plain data (objects, arrays, strings, numbers, booleans, null):
 * like JSON.stringify, but the integer keys of a Map<Long, …> are written unquoted. Which maps
 * are Long-keyed is a property of the Java type, so the caller names the fields holding them
 * (`longKeyedFields`, e.g. "brokerAddrs"); without the set every integer key is unquoted.
 */
export function stringifyLegacyJson(value: unknown, longKeyedFields?: ReadonlySet<string>): string {
  return write(value, longKeyedFields === undefined) ?? 'null';

  function write(node: unknown, unquoteIntegerKeys: boolean): string | undefined {
    if (node === null || typeof node !== 'object') return JSON.stringify(node);
    if (typeof (node as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(node);
    if (Array.isArray(node)) return `[${node.map((item) => write(item, longKeyedFields === undefined) ?? 'null').join(',')}]`;
    const fields: string[] = [];
    for (const [key, item] of Object.entries(node as Record<string, unknown>)) {
      const text = write(item, longKeyedFields === undefined || longKeyedFields.has(key));
      if (text === undefined) continue;
      fields.push(`${unquoteIntegerKeys && INTEGER_KEY.test(key) ? key : JSON.stringify(key)}:${text}`);
    }
    return `{${fields.join(',')}}`;
  }
}
