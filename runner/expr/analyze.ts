// Load-time analysis of expressions and templates: which variables they read (by head name: `a`
// for `a.b[0]`), and which of those reads are guarded — under `is defined` / `is undefined`,
// `| default(…)`, or behind a condition that proves the variable defined (`x is defined and x.y`,
// `{% if x is defined %}…x…{% endif %}`, a task's `when: x is defined`). The preflight check
// reports the unguarded reads of variables no host defines, before any host is contacted.
import type { Expr } from './ast.js';
import { children } from './ast.js';
import type { Template, TemplateNode } from './template.js';

/** One read of a variable: its head name, whether a guard covers it, and (in templates) the line. */
export interface VarUse {
  name: string;
  guarded: boolean;
  line?: number;
  /**
   * The read is in a branch that is skipped where every name of one of these sets is defined
   * (`x if y is defined else z`: z is read only where y is undefined).
   */
  deadIf?: string[][];
}

const GUARDING_FILTERS = new Set(['default', 'd', 'mandatory']);
const GUARDING_TESTS = new Set(['defined', 'undefined']);

/** The variable a path expression starts from (`a` for `a.b[0]`), or null when it starts elsewhere. */
export function headOf(e: Expr): string | null {
  for (;;) {
    if (e.kind === 'var') return e.name;
    if (e.kind === 'attr' || e.kind === 'index' || e.kind === 'slice') e = e.object;
    else return null;
  }
}

function definedTest(e: Expr, wantDefined: boolean): string | null {
  if (e.kind !== 'test' || !GUARDING_TESTS.has(e.name)) return null;
  const saysDefined = (e.name === 'defined') !== e.negated;
  return saysDefined === wantDefined ? headOf(e.target) : null;
}

function intersect(sets: Set<string>[]): Set<string> {
  if (!sets.length) return new Set();
  return new Set([...sets[0]!].filter((x) => sets.every((s) => s.has(x))));
}

/** The variables a condition proves defined when it is true (`x is defined and y is not undefined` → x, y). */
export function definedWhenTrue(e: Expr): Set<string> {
  const direct = definedTest(e, true);
  if (direct) return new Set([direct]);
  if (e.kind === 'not') return definedWhenFalse(e.operand);
  if (e.kind === 'and') return new Set(e.operands.flatMap((o) => [...definedWhenTrue(o)]));
  if (e.kind === 'or') return intersect(e.operands.map(definedWhenTrue));
  return new Set();
}

/** The variables a condition proves defined when it is false (`x is undefined or …`). */
export function definedWhenFalse(e: Expr): Set<string> {
  const direct = definedTest(e, false);
  if (direct) return new Set([direct]);
  if (e.kind === 'not') return definedWhenTrue(e.operand);
  if (e.kind === 'or') return new Set(e.operands.flatMap((o) => [...definedWhenFalse(o)]));
  if (e.kind === 'and') return intersect(e.operands.map(definedWhenFalse));
  return new Set();
}

/**
 * Names N when the condition holds exactly when every name of N is defined (`all`: `x is defined
 * and y is defined`), or exactly when some name of N is undefined (`!all`: `x is undefined or …`).
 */
function definedExactly(e: Expr, all: boolean): string[] | null {
  const direct = definedTest(e, all);
  if (direct) return [direct];
  if (e.kind === 'not') return definedExactly(e.operand, !all);
  if (e.kind !== (all ? 'and' : 'or')) return null;
  const parts = e.operands.map((o) => definedExactly(o, all));
  return parts.every((p) => p !== null) ? (parts.flat() as string[]) : null;
}

const withDead = (deadIf: string[][], names: string[] | null): string[][] => (names ? [...deadIf, names] : deadIf);

function walk(e: Expr, guarded: boolean, proven: ReadonlySet<string>, out: VarUse[], line?: number, deadIf: string[][] = []): void {
  const use = (name: string, g: boolean): void => {
    out.push({ name, guarded: g || proven.has(name), ...(line !== undefined ? { line } : {}), ...(deadIf.length ? { deadIf } : {}) });
  };
  switch (e.kind) {
    case 'var':
      use(e.name, guarded);
      return;
    case 'attr':
    case 'index':
    case 'slice': {
      // The head is read with the same guard; the index and slice bounds are reads of their own.
      const head = headOf(e);
      if (head !== null) use(head, guarded);
      else walk(e.kind === 'attr' ? e.object : e.object, guarded, proven, out, line, deadIf);
      let cur: Expr = e;
      while (cur.kind === 'attr' || cur.kind === 'index' || cur.kind === 'slice') {
        if (cur.kind === 'index') walk(cur.index, false, proven, out, line, deadIf);
        if (cur.kind === 'slice') for (const b of [cur.start, cur.stop, cur.step]) if (b) walk(b, false, proven, out, line, deadIf);
        cur = cur.object;
      }
      return;
    }
    case 'filter':
      walk(e.target, guarded || GUARDING_FILTERS.has(e.name), proven, out, line, deadIf);
      for (const a of [...e.args, ...e.kwargs.map(([, v]) => v)]) walk(a, false, proven, out, line, deadIf);
      return;
    case 'test':
      walk(e.target, guarded || GUARDING_TESTS.has(e.name), proven, out, line, deadIf);
      for (const a of [...e.args, ...e.kwargs.map(([, v]) => v)]) walk(a, false, proven, out, line, deadIf);
      return;
    case 'and':
    case 'or': {
      const seen = new Set(proven);
      for (const o of e.operands) {
        walk(o, false, seen, out, line, deadIf);
        for (const n of e.kind === 'and' ? definedWhenTrue(o) : definedWhenFalse(o)) seen.add(n);
      }
      return;
    }
    case 'cond':
      walk(e.test, false, proven, out, line, deadIf);
      walk(e.then, guarded, new Set([...proven, ...definedWhenTrue(e.test)]), out, line, withDead(deadIf, definedExactly(e.test, false)));
      if (e.otherwise) walk(e.otherwise, guarded, new Set([...proven, ...definedWhenFalse(e.test)]), out, line, withDead(deadIf, definedExactly(e.test, true)));
      return;
    default:
      for (const c of children(e)) walk(c, false, proven, out, line, deadIf);
  }
}

/** The variables an expression reads; `proven` are names known to be defined where it is evaluated (a `when: x is defined`). */
export function exprVariables(e: Expr, proven: ReadonlySet<string> = new Set()): VarUse[] {
  const out: VarUse[] = [];
  walk(e, false, proven, out);
  return out;
}

function walkNodes(nodes: TemplateNode[], locals: Set<string>, proven: ReadonlySet<string>, out: VarUse[]): void {
  const visit = (e: Expr, line: number, p: ReadonlySet<string>): void => {
    const uses: VarUse[] = [];
    walk(e, false, p, uses, line);
    for (const u of uses) if (!locals.has(u.name)) out.push(u);
  };
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        break;
      case 'output':
        visit(n.expr, n.line, proven);
        break;
      case 'set':
        visit(n.value, n.line, proven);
        n.targets.forEach((t) => locals.add(t));
        break;
      case 'setblock':
        walkNodes(n.body, locals, proven, out);
        locals.add(n.name);
        break;
      case 'if': {
        const falseSoFar = new Set(proven);
        for (const b of n.branches) {
          visit(b.test, b.line, falseSoFar);
          walkNodes(b.body, locals, new Set([...falseSoFar, ...definedWhenTrue(b.test)]), out);
          for (const x of definedWhenFalse(b.test)) falseSoFar.add(x);
        }
        if (n.otherwise) walkNodes(n.otherwise, locals, falseSoFar, out);
        break;
      }
      case 'for': {
        visit(n.iter, n.line, proven);
        const inner = new Set([...locals, ...n.targets, 'loop']);
        if (n.filter) {
          const uses: VarUse[] = [];
          walk(n.filter, false, proven, uses, n.line);
          for (const u of uses) if (!inner.has(u.name)) out.push(u);
        }
        walkNodes(n.body, inner, proven, out);
        if (n.otherwise) walkNodes(n.otherwise, locals, proven, out);
        break;
      }
    }
  }
}

/** The variables a template reads from outside (its own set / for names left out), each with its line. */
export function templateVariables(t: Template, proven: ReadonlySet<string> = new Set()): VarUse[] {
  const out: VarUse[] = [];
  walkNodes(t.nodes, new Set(), proven, out);
  return out;
}
