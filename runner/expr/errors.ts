// Errors of the expression and template language. The parser knows the column; the caller knows file:line.
import { FerryError } from '../errors.js';

// Long input is shown around the error only, so a hostile 10 kB condition does not flood the log.
function excerpt(source: string, col: number): string {
  if (source.length <= 120) return source;
  const from = Math.max(0, col - 60);
  return `${from > 0 ? '…' : ''}${source.slice(from, from + 120)}${from + 120 < source.length ? '…' : ''}`;
}

/** A condition that does not parse: `col` is the 1-based column in the expression text. */
export class ExprSyntaxError extends FerryError {
  constructor(
    readonly reason: string,
    readonly source: string,
    readonly col: number,
  ) {
    super(`${reason} (column ${col} of "${excerpt(source, col)}")`);
  }
}

/** A condition that parsed but cannot be evaluated with these variables (type mismatch, bad filter argument). */
export class ExprEvalError extends FerryError {}

/** A condition used a variable (or key) that does not exist, other than in `is defined` / `default`. */
export class UndefinedVariableError extends ExprEvalError {
  constructor(
    /** The expression that was undefined, as written (e.g. `result.stdout`). */
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

/** A template (a `.j2` file or a value with `{{ }}` / `{% %}`) that does not parse: 1-based line and column in the template. */
export class TemplateSyntaxError extends FerryError {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(`${reason} (line ${line}, column ${col} of the template)`);
  }
}

/** Where in a template an evaluation error happened, attached to the error itself (its class is kept). */
export function atTemplateLine<E extends Error>(err: E, line: number): E {
  if (!templateLines.has(err)) templateLines.set(err, line);
  return err;
}

/** The template line an error happened at, when it happened while rendering a template. */
export function templateLineOf(err: unknown): number | undefined {
  return err instanceof Error ? templateLines.get(err) : undefined;
}

const templateLines = new WeakMap<Error, number>();
