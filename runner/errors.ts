// A small tree of error classes. Only the CLI turns these into messages and exit codes.

/** A place in a source file, 1-based line and column. */
export interface Loc {
  file: string;
  line: number;
  col?: number;
}

/** Formats a location as `file:line` (or `file:line:col`). */
export function formatLoc(loc: Loc | undefined): string {
  if (!loc) return '<unknown>';
  return loc.col ? `${loc.file}:${loc.line}:${loc.col}` : `${loc.file}:${loc.line}`;
}

/** The root of every error ferry raises on purpose. */
export class FerryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem found while validating input, with where it is and what to do about it. */
export interface Problem {
  loc?: Loc;
  message: string;
  hint?: string;
}

/** Formats one problem as `file:line: message (hint)`. */
export function formatProblem(p: Problem): string {
  const where = p.loc ? `${formatLoc(p.loc)}: ` : '';
  return `${where}${p.message}${p.hint ? `\n    hint: ${p.hint}` : ''}`;
}

/** Bad input (inventory, playbook, vars, parameters): every problem found, raised before any host is contacted. */
export class ValidationError extends FerryError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** A template could not be rendered (undefined variable, syntax error). */
export class TemplateError extends FerryError {
  constructor(
    message: string,
    readonly loc?: Loc,
    options?: { cause?: unknown },
  ) {
    super(loc ? `${formatLoc(loc)}: ${message}` : message, options);
  }
}

/** A host could not be reached or authenticated: the host is reported unreachable, the others go on. */
export class UnreachableError extends FerryError {
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${message}`, options);
  }
}

/** The host's key is unknown or has changed: never connect silently. */
export class HostKeyError extends UnreachableError {}

/** A task failed on a host (a command exited non-zero, a module found a condition it cannot handle). */
export class TaskFailedError extends FerryError {
  constructor(
    message: string,
    readonly data: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The exit codes of the command line (README "Exit codes"), one list for every command. */
export const EXIT_HOST_FAILED = 2;
export const EXIT_UNREACHABLE = 3;
/** Bad input (inventory, playbook, vars): nothing was contacted. */
export const EXIT_BAD_INPUT = 4;
/** A bad command line. */
export const EXIT_USAGE = 5;
/** The exit code of an interrupted run. */
export const EXIT_INTERRUPTED = 130;

/** The run was interrupted (Ctrl-C, SIGTERM, or a library user's AbortSignal): the reason a run's signal aborts with. */
export class InterruptedError extends FerryError {
  constructor(readonly signal?: string) {
    super(signal ? `interrupted by ${signal}` : 'interrupted');
  }
}

/**
 * Bad input found only after a host was contacted (a play's hosts known only at run time): the
 * run stopped part-way, so it must not be reported as "nothing was run".
 */
export class RunStoppedError extends FerryError {
  constructor(readonly problem: ValidationError) {
    super(`the run stopped part-way, after hosts were contacted (what ran is reported above):\n${problem.message}`, { cause: problem });
  }
}
