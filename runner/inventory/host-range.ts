// Host names in an inventory may carry ranges (`www[01:50].example.com`, `db-[a:f]`, `x[1:9:2]`)
// and a port (`host:2222`). Ansible's rules, including its quirks, are kept so existing
// inventories expand to the same hosts.

/** A host range that cannot be expanded; the message says what is wrong with it. */
export class HostRangeError extends Error {}

/** A well-formed range that names more hosts than allowed; `count` is how many it names. */
export class HostRangeTooLargeError extends HostRangeError {
  constructor(
    readonly count: number,
    message: string,
  ) {
    super(message);
  }
}

/** The most hosts one host-range line may name (`web[1:1000000]` is refused, not expanded). */
export const MAX_RANGE_HOSTS = 100_000;
/** The most hosts an inventory may hold (all its files together). */
export const MAX_INVENTORY_HOSTS = 200_000;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** One `[begin:end:step]`: how many values it has and the text of the i-th. */
interface Range {
  count: number;
  value(i: number): string;
}

function parseRange(range: string, pattern: string): Range {
  const bounds = range.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) {
    throw new HostRangeError(`'[${range}]' in '${pattern}' must be [begin:end] or [begin:end:step]`);
  }
  const beg = bounds[0] || '0';
  const end = bounds[1];
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostRangeError(`'[${range}]' in '${pattern}' has no end value`);
  if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
    throw new HostRangeError(`the step '${stepText}' in '${pattern}' must be a positive integer`);
  }
  const step = Number(stepText);
  let fill = (x: number | string): string => String(x);
  if (beg[0] === '0' && beg.length > 1) {
    if (beg.length !== end.length) {
      throw new HostRangeError(`'[${range}]' in '${pattern}': a zero-padded begin and its end must have the same length`);
    }
    fill = (x) => String(x).padStart(beg.length, '0');
  }
  // Python's str.index finds substrings, so Ansible treats any run of letters as a letter range.
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new HostRangeError(`'[${range}]' in '${pattern}' must have begin <= end`);
    return { count: Math.floor((ie - ib) / step) + 1, value: (i) => fill(LETTERS[ib + i * step]!) };
  }
  if (!/^-?\d+$/.test(beg) || !/^-?\d+$/.test(end)) {
    throw new HostRangeError(`'[${range}]' in '${pattern}' must be two numbers or two letters`);
  }
  const b = Number(beg);
  const e = Number(end);
  return { count: e < b ? 0 : Math.floor((e - b) / step) + 1, value: (i) => fill(b + i * step) };
}

/**
 * Expands every `[begin:end]` / `[begin:end:step]` range in a host name, in order (Ansible's
 * expand_hostname_range). The number of hosts is known before any is made: more than `max` throws
 * a HostRangeTooLargeError, so `web[1:1000000000]` costs nothing.
 */
export function expandHostRange(pattern: string, max = MAX_RANGE_HOSTS): string[] {
  // The pattern as literal pieces with ranges between them: text, range, text, range, ..., text.
  const texts: string[] = [];
  const ranges: Range[] = [];
  let rest = pattern;
  for (let open = rest.indexOf('['); open >= 0; open = rest.indexOf('[')) {
    const close = rest.indexOf(']', open);
    if (close < 0) throw new HostRangeError(`'${pattern}' has '[' without a closing ']'`);
    texts.push(rest.slice(0, open));
    ranges.push(parseRange(rest.slice(open + 1, close), pattern));
    rest = rest.slice(close + 1);
  }
  texts.push(rest);
  const count = ranges.reduce((n, r) => n * r.count, 1);
  if (count > max) {
    throw new HostRangeTooLargeError(count, `'${pattern}' names ${count.toLocaleString('en')} hosts, more than the ${max.toLocaleString('en')} allowed`);
  }
  // Odometer order: the last range turns fastest, as Ansible's recursion expands them.
  let out = [texts[0]!];
  ranges.forEach((r, k) => {
    const next: string[] = [];
    for (const head of out) for (let i = 0; i < r.count; i++) next.push(head + r.value(i) + texts[k + 1]!);
    out = next;
  });
  return out;
}

/** A host entry (`name`, `name:port`, `web[01:20]`) as host names and port, or the problem with it; `have` is how many hosts the inventory holds already. */
export function expandHostEntry(text: string, have: number): { names: string[]; port?: number } | { message: string; hint: string } {
  const { name, port } = splitHostPort(text);
  try {
    return { names: expandHostRange(name, Math.min(MAX_RANGE_HOSTS, Math.max(0, MAX_INVENTORY_HOSTS - have))), port };
  } catch (e) {
    if (!(e instanceof HostRangeError)) throw e;
    if (!(e instanceof HostRangeTooLargeError)) return { message: `malformed host range: ${e.message}`, hint: 'write ranges as name[01:10] or name[a:f]' };
    const n = e.count.toLocaleString('en');
    if (e.count > MAX_RANGE_HOSTS) {
      return {
        message: `host range '${name}' names ${n} hosts; one range may name at most ${MAX_RANGE_HOSTS.toLocaleString('en')}`,
        hint: 'check the bounds, or split the range over several lines',
      };
    }
    return {
      message: `host '${name}' (${n} host${e.count > 1 ? 's' : ''}) would take the inventory past ${MAX_INVENTORY_HOSTS.toLocaleString('en')} hosts, the most ferry loads`,
      hint: 'split the inventory (one per site or role) and run each with its own -i',
    };
  }
}

/** Splits `host:port` or `[v6addr]:port` into name and port; anything else is a name without a port. */
export function splitHostPort(text: string): { name: string; port?: number } {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) return v6[2] ? { name: v6[1], port: Number(v6[2]) } : { name: v6[1] };
  const m = /^(.+):(\d+)$/.exec(text);
  // A colon inside the name part (outside brackets) means IPv6 or a range, not a port.
  if (m && !m[1].replace(/\[[^\]]*\]/g, '').includes(':')) return { name: m[1], port: Number(m[2]) };
  return { name: text };
}
