// Python's string formatting, as Ansible users write it: `'%s-%02d' % (name, n)`, `'%(a)s' % d`,
// `'{} {:>8}'.format(a, b)` and the `format` filter. Numbers follow Python's rules for the common
// conversions (d i o x X e E f F g G c % s r); what Python refuses is refused with its message.
import { ExprEvalError } from './errors.js';
import { defined, isMapping, isTuple, member, ownValue, pyRepr, pyStr, typeName } from './values.js';

interface Spec {
  fill: string;
  align: '<' | '>' | '^' | '=' | '';
  sign: '+' | '-' | ' ' | '';
  alt: boolean;
  zero: boolean;
  width: number;
  grouping: ',' | '_' | '';
  precision: number | null;
  type: string;
}

function toNumber(v: unknown, conv: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new ExprEvalError(`%${conv} format: a real number is required, not ${typeName(v)}`);
}

function expForm(n: number, precision: number, upper: boolean): string {
  const s = n.toExponential(precision);
  const [mant, exp] = s.split('e');
  const e = Number(exp);
  const out = `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return upper ? out.toUpperCase() : out;
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/\.?0+$/, '');
}

function generalForm(n: number, precision: number | null, alt: boolean, upper: boolean): string {
  const p = precision === null ? 6 : precision === 0 ? 1 : precision;
  if (n === 0) return alt ? `0.${'0'.repeat(p - 1)}` : '0';
  const exp = Number(n.toExponential(p - 1).split('e')[1]);
  if (exp >= -4 && exp < p) {
    const s = n.toFixed(p - 1 - exp);
    return alt ? s : stripZeros(s);
  }
  const s = expForm(n, p - 1, upper);
  if (alt) return s;
  const [m, e] = s.split(upper ? 'E' : 'e');
  return `${stripZeros(m!)}${upper ? 'E' : 'e'}${e}`;
}

function group(intPart: string, sep: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

// Formats the magnitude of a number for one conversion type; the sign is handled by the caller.
function magnitude(n: number, type: string, precision: number | null, alt: boolean): string {
  switch (type) {
    case 'd':
    case 'i':
    case 'u':
    case 'n':
      return String(Math.trunc(Math.abs(n)));
    case 'o':
      return (alt ? '0o' : '') + Math.trunc(Math.abs(n)).toString(8);
    case 'x':
      return (alt ? '0x' : '') + Math.trunc(Math.abs(n)).toString(16);
    case 'X':
      return (alt ? '0X' : '') + Math.trunc(Math.abs(n)).toString(16).toUpperCase();
    case 'b':
      return (alt ? '0b' : '') + Math.trunc(Math.abs(n)).toString(2);
    case 'e':
    case 'E':
      return expForm(Math.abs(n), precision ?? 6, type === 'E');
    case 'f':
    case 'F':
      if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : 'inf';
      return Math.abs(n).toFixed(precision ?? 6);
    case 'g':
    case 'G':
      return generalForm(Math.abs(n), precision, alt, type === 'G');
    case '%':
      return `${(Math.abs(n) * 100).toFixed(precision ?? 6)}%`;
  }
  throw new ExprEvalError(`unknown format code '${type}' for a number`);
}

function pad(body: string, spec: Spec, defaultAlign: '<' | '>', signStr = ''): string {
  const align = spec.align || (spec.zero ? '=' : defaultAlign);
  const fill = spec.align ? spec.fill : spec.zero ? '0' : ' ';
  const len = [...signStr].length + [...body].length;
  const gap = Math.max(0, spec.width - len);
  switch (align) {
    case '<':
      return signStr + body + fill.repeat(gap);
    case '>':
      return fill.repeat(gap) + signStr + body;
    case '^':
      return fill.repeat(Math.floor(gap / 2)) + signStr + body + fill.repeat(gap - Math.floor(gap / 2));
    case '=':
      return signStr + fill.repeat(gap) + body;
  }
  return signStr + body;
}

function formatNumber(n: number, spec: Spec): string {
  let type = spec.type;
  if (type === '') type = Number.isInteger(n) ? 'd' : 'g-repr';
  let body: string;
  if (type === 'g-repr') body = spec.precision === null ? String(Math.abs(n)) : generalForm(Math.abs(n), spec.precision, spec.alt, false);
  else body = magnitude(n, type, spec.precision, spec.alt);
  if (spec.grouping) {
    const [int, frac] = body.split('.');
    body = group(int!, spec.grouping) + (frac !== undefined ? `.${frac}` : '');
  }
  const negative = n < 0 || Object.is(n, -0);
  const signStr = negative ? '-' : spec.sign === '+' ? '+' : spec.sign === ' ' ? ' ' : '';
  return pad(body, spec, '>', signStr);
}

const SPEC_RE = /^(?:(.)?([<>^=]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([a-zA-Z%])?$/su;

function parseSpec(s: string): Spec {
  const m = SPEC_RE.exec(s);
  if (!m) throw new ExprEvalError(`invalid format specifier '${s}'`);
  return {
    fill: m[1] ?? ' ',
    align: (m[2] ?? '') as Spec['align'],
    sign: (m[3] ?? '') as Spec['sign'],
    alt: !!m[4],
    zero: !!m[5],
    width: m[6] ? Number(m[6]) : 0,
    grouping: (m[7] ?? '') as Spec['grouping'],
    precision: m[8] !== undefined ? Number(m[8]) : null,
    type: m[9] ?? '',
  };
}

/** Python's format(value, spec), as used by str.format. */
export function formatValue(v: unknown, specText: string): string {
  v = defined(v);
  const spec = parseSpec(specText);
  if (typeof v === 'number' || (typeof v === 'boolean' && spec.type !== '' && spec.type !== 's')) {
    return formatNumber(typeof v === 'number' ? v : v ? 1 : 0, spec);
  }
  if (spec.type !== '' && spec.type !== 's') throw new ExprEvalError(`unknown format code '${spec.type}' for a ${typeName(v)}`);
  let s = pyStr(v);
  if (spec.precision !== null) s = [...s].slice(0, spec.precision).join('');
  return pad(s, spec, '<');
}

// `{0.name}` and `{0[key]}` after the argument name.
function fieldValue(field: string, args: unknown[], kwargs: Record<string, unknown>, auto: { n: number }): unknown {
  const m = /^([^.[]*)(.*)$/s.exec(field)!;
  const head = m[1]!;
  let v: unknown;
  if (head === '') {
    if (auto.n < 0) throw new ExprEvalError('cannot switch from manual field numbering to automatic field numbering');
    v = args[auto.n];
    if (auto.n++ >= args.length) throw new ExprEvalError(`replacement index ${auto.n - 1} out of range for positional args tuple`);
  } else if (/^\d+$/.test(head)) {
    if (auto.n > 0) throw new ExprEvalError('cannot switch from automatic field numbering to manual field specification');
    auto.n = -1;
    const i = Number(head);
    if (i >= args.length) throw new ExprEvalError(`replacement index ${i} out of range for positional args tuple`);
    v = args[i];
  } else {
    const r = ownValue(kwargs, head);
    if (!r.found) throw new ExprEvalError(`KeyError: '${head}' is not a keyword argument of format()`);
    v = r.value;
  }
  let rest = m[2]!;
  while (rest) {
    const a = /^\.(\w+)|^\[([^\]]+)\]/.exec(rest);
    if (!a) throw new ExprEvalError(`bad field name '${field}' in format()`);
    const key = a[1] ?? (/^\d+$/.test(a[2]!) ? Number(a[2]) : a[2]!);
    v = defined(member(v, key, field, head));
    rest = rest.slice(a[0].length);
  }
  return v;
}

/** Python's str.format(*args, **kwargs). */
export function pyStrFormat(template: string, args: unknown[], kwargs: Record<string, unknown>): string {
  let out = '';
  const auto = { n: 0 };
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '{' && template[i + 1] === '{') {
      out += '{';
      i++;
    } else if (c === '}' && template[i + 1] === '}') {
      out += '}';
      i++;
    } else if (c === '}') {
      throw new ExprEvalError("single '}' encountered in format string");
    } else if (c === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) throw new ExprEvalError("single '{' encountered in format string");
      const body = template.slice(i + 1, end);
      const m = /^([^!:]*)(?:!([rsa]))?(?::(.*))?$/s.exec(body);
      if (!m) throw new ExprEvalError(`bad replacement field '{${body}}' in format string`);
      let v = fieldValue(m[1]!, args, kwargs, auto);
      if (m[2] === 'r' || m[2] === 'a') v = pyRepr(v);
      else if (m[2] === 's') v = pyStr(v);
      out += formatValue(v, m[3] ?? '');
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

const PERCENT_RE = /%(?:\(([^)]*)\))?([#0\- +]*)(\d+|\*)?(?:\.(\d+))?([diouxXeEfFgGcrsa%])/g;

/** Python's printf-style `template % values`: a tuple gives the positional values, a mapping the `%(name)s` ones. */
export function pyPercentFormat(template: string, values: unknown): string {
  values = defined(values);
  const byName = isMapping(values) ? values : null;
  const list = isTuple(values) ? values : [values];
  let next = 0;
  let usedNames = false;
  const out = template.replace(PERCENT_RE, (whole, name: string | undefined, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%' && whole === '%%') return '%';
    let v: unknown;
    if (name !== undefined) {
      if (!byName) throw new ExprEvalError('format requires a mapping');
      usedNames = true;
      const r = ownValue(byName, name);
      if (!r.found) throw new ExprEvalError(`KeyError: '${name}' in the values of '%' formatting`);
      v = r.value;
    } else {
      if (width === '*') throw new ExprEvalError("'*' widths are not supported in '%' formatting");
      if (next >= list.length) throw new ExprEvalError('not enough arguments for format string');
      v = list[next++];
    }
    v = defined(v);
    const spec: Spec = {
      fill: ' ',
      align: flags.includes('-') ? '<' : '',
      sign: flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '',
      alt: flags.includes('#'),
      zero: flags.includes('0') && !flags.includes('-'),
      width: width ? Number(width) : 0,
      grouping: '',
      precision: prec !== undefined ? Number(prec) : null,
      type: conv,
    };
    if (conv === 's' || conv === 'r' || conv === 'a') {
      let s = conv === 's' ? pyStr(v) : pyRepr(v);
      if (spec.precision !== null) s = s.slice(0, spec.precision);
      return pad(s, { ...spec, zero: false }, '>');
    }
    if (conv === 'c') {
      const s = typeof v === 'number' ? String.fromCodePoint(v) : typeof v === 'string' && [...v].length === 1 ? v : null;
      if (s === null) throw new ExprEvalError('%c requires an int or a single character');
      return pad(s, { ...spec, zero: false }, '>');
    }
    const n = toNumber(v, conv);
    if ('oxX'.includes(conv) && !Number.isInteger(n)) throw new ExprEvalError(`%${conv} format: an integer is required, not float`);
    if ('diu'.includes(conv)) spec.type = 'd';
    if (spec.alt && conv === 'o') spec.alt = true;
    return formatNumber(n, spec);
  });
  if (!byName && !usedNames && next < list.length) throw new ExprEvalError('not all arguments converted during string formatting');
  return out;
}
