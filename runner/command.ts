// The one way to build a remote command: values are quoted for POSIX sh by construction,
// and secrets are masked in every printed form.

/** What a secret value is printed as. */
export const SECRET_MASK = '********';

/** A value that must never be printed: masked in logs, events, errors and state files. */
export class Secret {
  constructor(readonly value: string) {}
  toString(): string {
    return SECRET_MASK;
  }
  toJSON(): string {
    return SECRET_MASK;
  }
}

/** Marks a value as secret. */
export function secret(value: string): Secret {
  return new Secret(value);
}

/** Trusted shell text inserted as is (operators, redirections written by ferry's own code). */
export class Raw {
  constructor(readonly text: string) {}
}

/** Inserts trusted shell text unquoted. Never pass user input here. */
export function raw(text: string): Raw {
  return new Raw(text);
}

/** A built shell command: `text` is what runs, `display` is what is printed (secrets masked). */
export class Command {
  constructor(
    readonly text: string,
    readonly display: string,
    readonly secrets: readonly string[] = [],
  ) {}
  toString(): string {
    return this.display;
  }
  /** Removes every secret value this command holds from `s` (for output that may echo it). */
  mask(s: string): string {
    return maskSecrets(s, this.secrets);
  }
}

/** Replaces each secret occurrence in `s` by the mask. */
export function maskSecrets(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const v of secrets) if (v) out = out.split(v).join(SECRET_MASK);
  return out;
}

/** Quotes one value for POSIX sh: a single argument whatever it holds. */
export function quote(value: string): string {
  if (value === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

type Part = string | number | bigint | boolean | Secret | Raw | Command | readonly Part[] | null | undefined;

function render(v: Part, secrets: string[]): { text: string; display: string } {
  if (v === null || v === undefined) throw new TypeError('sh: cannot interpolate null or undefined into a command');
  if (v instanceof Command) {
    secrets.push(...v.secrets);
    return { text: v.text, display: v.display };
  }
  if (v instanceof Raw) return { text: v.text, display: v.text };
  if (v instanceof Secret) {
    secrets.push(v.value);
    return { text: quote(v.value), display: SECRET_MASK };
  }
  if (Array.isArray(v)) {
    const parts = (v as readonly Part[]).map((x) => render(x, secrets));
    return { text: parts.map((p) => p.text).join(' '), display: parts.map((p) => p.display).join(' ') };
  }
  const q = quote(String(v));
  return { text: q, display: q };
}

/**
 * Tagged template that builds a Command: every interpolated value is one quoted word
 * (an array becomes several words; a Command is embedded as is; raw() is trusted text).
 *   sh`lvrename ${vg} ${from} ${to}`
 */
export function sh(strings: TemplateStringsArray, ...values: Part[]): Command {
  let text = strings[0] ?? '';
  let display = text;
  const secrets: string[] = [];
  values.forEach((v, i) => {
    const r = render(v, secrets);
    text += r.text + (strings[i + 1] ?? '');
    display += r.display + (strings[i + 1] ?? '');
  });
  return new Command(text, display, secrets);
}

/** Wraps a user's shell string (the `shell` module, `cmd:` strings) as a Command run by sh. */
export function shellText(userText: string): Command {
  return new Command(userText, userText);
}

/** Joins commands with a shell operator (`&&`, `;`, `|`). */
export function joinCommands(cmds: Command[], op: '&&' | ';' | '|' | '||' = '&&'): Command {
  return new Command(
    cmds.map((c) => c.text).join(` ${op} `),
    cmds.map((c) => c.display).join(` ${op} `),
    cmds.flatMap((c) => c.secrets),
  );
}

/** The command as one quoted word, for `sh -c WORD`, `sudo ... sh -c WORD`, `chroot DIR sh -c WORD`. */
export function asArgument(cmd: Command): Command {
  return new Command(quote(cmd.text), quote(cmd.display), cmd.secrets);
}

/** One result shape for success and failure of a command. */
export interface CommandResult {
  host: string;
  command: string; // display form: secrets masked
  exitCode: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut?: boolean;
}

/** True when the command exited 0. */
export function succeeded(r: CommandResult): boolean {
  return r.exitCode === 0;
}
