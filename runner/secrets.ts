// The values a run must never print. The variable layer marks them (a variable named like a
// password, a `no_log` task's result; later a vault value or a private vars_prompt answer) and the
// engine masks them in every event it emits (so in every reporter), in the run state and in errors.
import { Secret, maskSecrets } from './command.js';
import type { FerryEvent } from './events.js';

type Obj = Record<string, unknown>;

/** What a `no_log` task shows instead of its messages, items and results. */
export const NO_LOG_MESSAGE = 'the output has been hidden (no_log: true)';

// ansible_password, ansible_become_pass, ferry_ssh_passphrase, db_passwd; not ansible_ask_pass (a flag).
const SECRET_NAME = /(^|_)(password|passwd|pass|passphrase)$/i;
const NOT_SECRET_NAME = /(^|_)ask_pass$/i;

/** True for a variable name that holds a password (`*_password`, `*_pass`, `*_passphrase`). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name);
}

// Keys of a result that are bookkeeping, never the output itself: times, counters, flags, and the
// file attributes modules report (a no_log copy's `state: file` or `owner: root` must not mask every
// later "file" and "root" in the output).
const RESULT_METADATA = new Set([
  'changed', 'failed', 'skipped', 'rc', 'exitCode', 'start', 'end', 'delta', 'attempts', 'ansible_loop_var',
  'state', 'mode', 'owner', 'group', 'uid', 'gid', 'size', 'checksum', 'md5sum',
]);
// A string taken from a no_log result is masked from this length on: shorter output ("0", "ok")
// would blank out unrelated text, and the result as a whole prints censored anyway.
const MIN_DERIVED_LENGTH = 4;
const MAX_DEPTH = 8;
/** A decrypted vault value is masked from this length on (see addDecrypted). */
export const MIN_VAULT_LENGTH = 3;

function isPlainObject(v: unknown): v is Obj {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Own enumerable entries, leaving out values that throw when read (a variable that cannot be rendered). */
function safeEntries(o: Obj): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const k of Object.keys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, k);
    if (d && 'value' in d) out.push([k, d.value]);
  }
  return out;
}

/**
 * The secret values of one run. `add` is the one call a source of secrets needs (vault, vars_prompt
 * with `private`); `mask` / `maskDeep` are what every output goes through.
 */
export class SecretValues {
  private readonly values = new Set<string>();
  private longestFirst: string[] = [];

  /** Marks a value secret: from now on it is masked wherever it appears. Empty values and flags are ignored. */
  add(value: unknown): void {
    const s =
      value instanceof Secret ? value.value
      : typeof value === 'string' ? value
      : typeof value === 'number' || typeof value === 'bigint' ? String(value)
      : undefined;
    if (s === undefined || s.trim() === '' || this.values.has(s)) return;
    this.values.add(s);
    // Longest first, so a secret that contains another is masked whole.
    this.longestFirst = [...this.values].sort((a, b) => b.length - a.length);
  }

  /** Marks the value of every variable named like a password (`*_password`, `*_pass`), nested mappings included. */
  addNamed(vars: Obj, skip: ReadonlySet<string> = new Set()): void {
    const walk = (v: unknown, depth: number): void => {
      if (depth > MAX_DEPTH) return;
      if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
      else if (isPlainObject(v)) {
        for (const [k, x] of safeEntries(v)) {
          if (depth === 0 && skip.has(k)) continue;
          if (isSecretName(k)) this.addAll(x, 0);
          else walk(x, depth + 1);
        }
      }
    };
    walk(vars, 0);
  }

  /**
   * Marks what a vault decrypted to: every string (and each of its lines) and number it holds, at
   * any depth, except values shorter than MIN_VAULT_LENGTH (masking "no" or "22" would blank out
   * unrelated text; such a value protects nothing anyway).
   */
  addDecrypted(value: unknown): void {
    const walk = (v: unknown): void => {
      if (typeof v === 'number' || typeof v === 'bigint') v = String(v);
      if (typeof v === 'string') {
        if (v.trim().length >= MIN_VAULT_LENGTH) this.add(v);
        if (v.includes('\n')) for (const l of v.split('\n')) if (l.trim().length >= MIN_VAULT_LENGTH) this.add(l.trim());
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (isPlainObject(v)) for (const [, x] of safeEntries(v)) walk(x);
    };
    walk(value);
  }

  /** Marks what a `no_log` task's result holds (its output, items, set values), leaving out times and counters. */
  addResult(result: unknown): void {
    this.addAll(result, MIN_DERIVED_LENGTH);
  }

  private addAll(v: unknown, minLength: number, depth = 0): void {
    if (depth > MAX_DEPTH) return;
    if (v instanceof Secret || typeof v === 'number' || typeof v === 'bigint') {
      if (minLength === 0) this.add(v);
    } else if (typeof v === 'string') {
      // A password variable written as a template is marked once it is rendered (the engine's vars).
      if (minLength === 0 && v.includes('{{')) return;
      if (v.length >= minLength) this.add(v);
      // Multi-line output: each line may be printed alone (stdout_lines, an error's last lines).
      if (v.includes('\n')) for (const l of v.split('\n')) if (l.trim().length >= Math.max(minLength, 1)) this.add(l);
    } else if (Array.isArray(v)) for (const x of v) this.addAll(x, minLength, depth + 1);
    else if (isPlainObject(v)) {
      for (const [k, x] of safeEntries(v)) if (!RESULT_METADATA.has(k)) this.addAll(x, minLength, depth + 1);
    }
  }

  /** How many values are marked. */
  get size(): number {
    return this.values.size;
  }

  /** The text with every secret value replaced by the mask. */
  mask(text: string): string {
    return this.longestFirst.length ? maskSecrets(text, this.longestFirst) : text;
  }

  /** A copy of a value with every string masked (objects and arrays copied, other values as they are). */
  maskDeep<T>(value: T): T {
    if (!this.longestFirst.length) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.mask(v);
      if (Array.isArray(v)) return v.map(walk);
      if (isPlainObject(v)) return Object.fromEntries(safeEntries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return walk(value) as T;
  }

  /** True when a secret value appears in any string the value holds. */
  appearsIn(value: unknown): boolean {
    if (!this.longestFirst.length) return false;
    const walk = (v: unknown): boolean => {
      if (typeof v === 'string') return this.longestFirst.some((s) => v.includes(s));
      if (Array.isArray(v)) return v.some(walk);
      if (isPlainObject(v)) return safeEntries(v).some(([, x]) => walk(x));
      return false;
    };
    return walk(value);
  }
}

/**
 * Makes a `no_log` task's registered result print as Ansible prints it (`censored`) wherever it is
 * serialised (debug var, the run state), while later tasks still read its fields.
 */
export function censorResult(result: Obj): Obj {
  Object.defineProperty(result, 'toJSON', {
    value: () => censoredView(result),
    enumerable: false,
    configurable: true,
  });
  return result;
}

/** What a `no_log` task's result shows of itself: that it is censored, whether it changed or failed. */
export function censoredView(result: Obj): Obj {
  return { censored: NO_LOG_MESSAGE, changed: result.changed === true, ...(result.failed === true ? { failed: true } : {}) };
}

// Event fields that name things (hosts, modules, places), never carry a value: left as they are.
const EVENT_NAMES = new Set(['type', 'host', 'hosts', 'status', 'module', 'delegatedTo', 'loc', 'playbook', 'time']);

/** An event with every secret value masked in its messages, items, steps, diffs and progress. */
export function maskEvent(ev: FerryEvent, secrets: SecretValues): FerryEvent {
  if (!secrets.size) return ev;
  const out: Obj = {};
  for (const [k, v] of Object.entries(ev)) out[k] = EVENT_NAMES.has(k) ? v : secrets.maskDeep(v);
  return out as FerryEvent;
}
