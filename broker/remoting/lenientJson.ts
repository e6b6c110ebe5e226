// fastjson (Apache RocketMQ's namesrv before 4.9 or for old clients) writes numeric map keys
// unquoted: {"brokerAddrs":{0:"10.0.0.1:10911"}}. These helpers read and write that form.

/** Quotes bare numeric keys outside strings, then JSON.parse. */
export function parseLenientJson(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    if ((ch === '{' || ch === ',') && /^\s*-?\d+\s*:/.test(text.slice(i + 1, i + 32))) {
      const match = /^(\s*)(-?\d+)(\s*):/.exec(text.slice(i + 1)) as RegExpExecArray;
      out += `${ch}${match[1]}"${match[2]}"${match[3]}:`;
      i += match[0].length;
      continue;
    }
    out += ch;
  }
  return JSON.parse(out);
}

/** JSON.stringify, then unquote object keys that are integers (fastjson's output for Map<Long,…>). */
export function stringifyLegacyJson(value: unknown): string {
  return JSON.stringify(value).replace(/([{,])"(-?\d+)":/g, '$1$2:');
}
