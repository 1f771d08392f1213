// Host names in an inventory may carry ranges (`www[01:50].example.com`, `db-[a:f]`, `x[1:9:2]`)
// and a port (`host:2222`). Ansible's rules, including its quirks, are kept so existing
// inventories expand to the same hosts.

/** A host range that cannot be expanded; the message says what is wrong with it. */
export class HostRangeError extends Error {}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Expands every `[begin:end]` / `[begin:end:step]` range in a host name, in order (Ansible's expand_hostname_range). */
export function expandHostRange(pattern: string): string[] {
  if (!pattern.includes('[')) return [pattern];
  const open = pattern.indexOf('[');
  const close = pattern.indexOf(']', open);
  if (close < 0) throw new HostRangeError(`'${pattern}' has '[' without a closing ']'`);
  const head = pattern.slice(0, open);
  const range = pattern.slice(open + 1, close);
  const tail = pattern.slice(close + 1);
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
  let seq: (string | number)[];
  // Python's str.index finds substrings, so Ansible treats any run of letters as a letter range.
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new HostRangeError(`'[${range}]' in '${pattern}' must have begin <= end`);
    seq = [];
    for (let i = ib; i <= ie; i += step) seq.push(LETTERS[i]);
  } else {
    if (!/^-?\d+$/.test(beg) || !/^-?\d+$/.test(end)) {
      throw new HostRangeError(`'[${range}]' in '${pattern}' must be two numbers or two letters`);
    }
    seq = [];
    for (let i = Number(beg); i <= Number(end); i += step) seq.push(i);
  }
  return seq.flatMap((x) => expandHostRange(head + fill(x) + tail));
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
