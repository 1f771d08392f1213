// `with_sequence:` as Ansible's sequence lookup reads it: `start=0 end=6 format=%02x` or the shortcut
// `[start-]end[/stride][:format]`, giving the formatted numbers as strings. Pure, so a spec is checked
// (and expanded) when the playbook is loaded.

/** The items of a with_sequence spec, or what is wrong with it (in Ansible's words where it has some). */
export function sequenceItems(spec: string): { items: string[] } | { error: string } {
  const parsed = parseSequence(spec.trim());
  if ('error' in parsed) return parsed;
  const { start, stride, format } = parsed;
  let end = parsed.end;
  if (parsed.count !== undefined) {
    if (parsed.end !== undefined) return { error: "can't specify both count and end in with_sequence" };
    if (parsed.count === 0) return { items: [] };
    end = start + parsed.count * stride - 1;
  }
  if (end === undefined) return { error: "must specify count or end in with_sequence" };
  if (stride > 0 && end < start) return { error: 'to count backwards make stride negative' };
  if (stride < 0 && end > start) return { error: "to count forward don't make stride negative" };
  const items: string[] = [];
  if (stride === 0) return { items };
  for (let i = start; stride > 0 ? i <= end : i >= end; i += stride) {
    const text = printfOne(format, i);
    if (text === undefined) return { error: `bad formatting string: ${format}` };
    items.push(text);
  }
  return { items };
}

interface Sequence {
  start: number;
  end?: number;
  count?: number;
  stride: number;
  format: string;
}

/** A number as Python's int(x, 0) reads it: decimal, 0x hex, 0o or leading-0 octal. */
function pyInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|\d+)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const n = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : /^0[oO]?[0-7]/.test(body) && body.length > 1 ? parseInt(body.replace(/^0[oO]?/, ''), 8) : parseInt(body, 10);
  return m[1] === '-' ? -n : n;
}

const SHORTCUT = /^(?:([+-]?(?:0[xX][0-9a-fA-F]+|\d+))-)?([+-]?(?:0[xX][0-9a-fA-F]+|\d+))(?:\/([+-]?(?:0[xX][0-9a-fA-F]+|\d+)))?(?::(.+))?$/;

function parseSequence(spec: string): Sequence | { error: string } {
  const out: Sequence = { start: 1, stride: 1, format: '%d' };
  const m = SHORTCUT.exec(spec);
  if (m) {
    if (m[1] !== undefined) out.start = pyInt(m[1])!;
    out.end = pyInt(m[2]!)!;
    if (m[3] !== undefined) out.stride = pyInt(m[3])!;
    if (m[4] !== undefined) out.format = m[4];
    return out;
  }
  for (const word of spec.split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq <= 0) return { error: `unrecognized with_sequence argument '${word}': write start=N end=N (or count=N) stride=N format=%d, or N-N/N:%d` };
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (key === 'format') {
      out.format = value;
      continue;
    }
    if (!['start', 'end', 'count', 'stride'].includes(key)) return { error: `unrecognized with_sequence argument '${key}': it takes start, end, count, stride and format` };
    const n = pyInt(value);
    if (n === undefined) return { error: `can't parse ${key}=${value} as integer` };
    out[key as 'start' | 'end' | 'count' | 'stride'] = n;
  }
  return out;
}

/** Python's `format % n` for one integer conversion (%d %i %u %x %X %o %s with flags and width), or undefined. */
function printfOne(format: string, n: number): string | undefined {
  let used = false;
  let bad = false;
  const text = format.replace(/%([-+ 0#]*)(\d*)([diuxXos%])/g, (_all, flags: string, width: string, conv: string) => {
    if (conv === '%') return '%';
    if (used) bad = true;
    used = true;
    const neg = n < 0;
    const abs = Math.abs(n);
    let digits = conv === 'x' || conv === 'X' ? abs.toString(16) : conv === 'o' ? abs.toString(8) : abs.toString(10);
    if (conv === 'X') digits = digits.toUpperCase();
    if (flags.includes('#') && conv !== 's') digits = (conv === 'o' ? '0o' : conv === 'x' ? '0x' : conv === 'X' ? '0X' : '') + digits;
    const sign = neg ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
    const w = width ? Number(width) : 0;
    if (flags.includes('-')) return (sign + digits).padEnd(w);
    if (flags.includes('0') && conv !== 's') return sign + digits.padStart(w - sign.length, '0');
    return (sign + digits).padStart(w);
  });
  return used && !bad ? text : undefined;
}
