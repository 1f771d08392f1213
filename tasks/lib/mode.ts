// File modes as playbooks write them: '0644', '644', 0644 (which YAML 1.2 reads as the
// decimal number 644), or chmod's symbolic form 'u=rw,g=r,o='.

/** A parsed `mode:` value: an absolute octal mode, or symbolic clauses applied to the current mode. */
export type ModeSpec =
  | { kind: 'octal'; value: number }
  | { kind: 'symbolic'; text: string; clauses: SymbolicClause[] };

interface SymbolicAction {
  op: '+' | '-' | '=';
  perms: string; // subset of rwxXst, or one of u/g/o (copy that class's bits)
}

/** One comma-separated part of a symbolic mode, e.g. `ug+rw`. */
export interface SymbolicClause {
  who: string; // subset of ugo ('' means all)
  actions: SymbolicAction[];
}

const SYMBOLIC_CLAUSE = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/;

/** Parses a mode parameter; throws an Error whose message says what is wrong and how to write it. */
export function parseModeSpec(mode: string | number): ModeSpec {
  if (typeof mode === 'number') {
    // YAML 1.2 reads an unquoted 0644 as the decimal 644: take its digits as octal, as the user meant.
    const digits = String(mode);
    if (!Number.isInteger(mode) || mode < 0 || !/^[0-7]{1,4}$/.test(digits)) {
      throw new Error(`mode ${mode} is not an octal mode; quote it, e.g. mode: '0644'`);
    }
    return { kind: 'octal', value: parseInt(digits, 8) };
  }
  const s = mode.trim();
  if (/^0o?[0-7]{1,4}$/.test(s) || /^[0-7]{1,4}$/.test(s)) {
    return { kind: 'octal', value: parseInt(s.replace(/^0o/, ''), 8) };
  }
  const clauses: SymbolicClause[] = [];
  for (const part of s.split(',')) {
    const m = SYMBOLIC_CLAUSE.exec(part);
    if (!m) {
      throw new Error(`mode '${mode}' is neither octal ('0644') nor symbolic ('u=rw,g=r,o=')`);
    }
    const who = m[1]!.includes('a') ? '' : m[1]!;
    const actions = [...m[2]!.matchAll(/([-+=])([ugo]|[rwxXst]*)/g)].map((a) => ({ op: a[1] as '+' | '-' | '=', perms: a[2]! }));
    clauses.push({ who, actions });
  }
  return { kind: 'symbolic', text: s, clauses };
}

const SHIFT: Record<string, number> = { u: 6, g: 3, o: 0 };
const SPECIAL: Record<string, number> = { u: 0o4000, g: 0o2000, o: 0o1000 };

/** The mode a file ends up with when `spec` is applied to its current mode (chmod's semantics; '' who means all, umask ignored). */
export function applyModeSpec(spec: ModeSpec, current: number, isDirectory: boolean): number {
  if (spec.kind === 'octal') return spec.value;
  let mode = current & 0o7777;
  for (const clause of spec.clauses) {
    const classes = clause.who === '' ? ['u', 'g', 'o'] : [...new Set(clause.who)];
    for (const { op, perms } of clause.actions) {
      const before = mode;
      let bits = 0;
      let clear = 0;
      for (const cls of classes) {
        const shift = SHIFT[cls]!;
        clear |= (7 << shift) | SPECIAL[cls]!;
        let rwx = 0;
        if (perms === 'u' || perms === 'g' || perms === 'o') {
          rwx = (before >> SHIFT[perms]!) & 7;
        } else {
          for (const p of perms) {
            if (p === 'r') rwx |= 4;
            else if (p === 'w') rwx |= 2;
            else if (p === 'x') rwx |= 1;
            else if (p === 'X' && (isDirectory || (before & 0o111) !== 0)) rwx |= 1;
            else if (p === 's' && cls !== 'o') bits |= SPECIAL[cls]!;
            else if (p === 't' && cls === 'o') bits |= 0o1000;
          }
        }
        bits |= rwx << shift;
      }
      if (op === '+') mode |= bits;
      else if (op === '-') mode &= ~bits;
      else mode = (mode & ~clear) | bits;
    }
  }
  return mode & 0o7777;
}

/** Formats a mode as four octal digits ('0644'), the form chmod takes and results show. */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
