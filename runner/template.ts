// Templating: handlebars, strict (an undefined variable is an error naming it and file:line),
// with HTML escaping off — these are config files and commands, not web pages.
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { quote } from './command.js';
import { TemplateError, type Loc } from './errors.js';
import { locOf } from './yaml-source.js';

const hb = Handlebars.create();

// A few helpers that Ansible users reach for (filters in Jinja2); lookups in helper
// arguments are lenient in handlebars, so `default` works on undefined values.
hb.registerHelper('default', (v: unknown, d: unknown) => (v === undefined || v === null ? d : v));
hb.registerHelper('quote', (v: unknown) => quote(String(v)));
hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
hb.registerHelper('join', (v: unknown, sep: unknown) => (Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ',') : String(v)));
hb.registerHelper('upper', (v: unknown) => String(v).toUpperCase());
hb.registerHelper('lower', (v: unknown) => String(v).toLowerCase());
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
hb.registerHelper('basename', (v: unknown) => String(v).replace(/\/+$/, '').split('/').pop() ?? '');

const compiled = new Map<string, Handlebars.TemplateDelegate>();
const SINGLE_HELPER = /^\{\{\s*([A-Za-z_]\w*)\s+[^{}]*\}\}$/;

/** Whether a string holds template syntax at all. */
export function isTemplated(s: string): boolean {
  return s.includes('{{');
}

// A value that is exactly one `{{ path }}` yields the variable itself (a list stays a list),
// as Ansible users expect from `loop: "{{ items }}"`.
const SINGLE_VAR = /^\{\{\s*([A-Za-z_][\w-]*(?:\.(?:[\w-]+|\[[^\]]+\]))*)\s*\}\}$/;

function lookupPath(path: string, vars: Record<string, unknown>): { found: boolean; value: unknown } {
  const parts = path.match(/\[[^\]]+\]|[^.[\]]+/g) ?? [];
  let cur: unknown = vars;
  for (const raw of parts) {
    const p = raw.startsWith('[') ? raw.slice(1, -1) : raw;
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, p)) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[p];
  }
  return { found: true, value: cur };
}

/** Finds the full path of the mustache at line:col of a template (handlebars names only the last segment). */
function pathAt(template: string, line: number, col: number): string | undefined {
  try {
    const ast = hb.parse(template);
    let best: string | undefined;
    const visit = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as { type?: string; loc?: { start: { line: number; column: number } }; path?: { original?: string } };
      if (n.type === 'MustacheStatement' && n.loc && n.path?.original) {
        if (n.loc.start.line === line && n.loc.start.column <= col) best = n.path.original;
      }
      for (const v of Object.values(node)) if (v && typeof v === 'object') visit(v);
    };
    visit(ast);
    return best;
  } catch {
    return undefined;
  }
}

/** Whether a template renders to a value of any type (exactly one `{{ var }}` or helper call), not always to a string. */
export function yieldsValue(template: string): boolean {
  const helperCall = SINGLE_HELPER.exec(template);
  return SINGLE_VAR.test(template) || (helperCall !== null && hb.helpers[helperCall[1]!] !== undefined);
}

/** The variable a template names when it is exactly one `{{ name }}` (no path), else undefined. */
export function singleVariable(template: string): string | undefined {
  const m = SINGLE_VAR.exec(template);
  return m && /^[A-Za-z_]\w*$/.test(m[1]!) ? m[1] : undefined;
}

/** Renders one template string with `vars`; errors name the variable and `loc`. */
export function renderString(template: string, vars: Record<string, unknown>, loc?: Loc): unknown {
  if (!isTemplated(template)) return template;
  const single = SINGLE_VAR.exec(template);
  if (single) {
    const r = lookupPath(single[1]!, vars);
    if (!r.found) {
      throw new TemplateError(`undefined variable '${single[1]}'`, loc);
    }
    return r.value;
  }
  const helperCall = SINGLE_HELPER.exec(template);
  if (helperCall && hb.helpers[helperCall[1]!]) {
    // A value that is exactly one helper call (`{{default x null}}`) yields the helper's value, typed.
    let captured: unknown;
    const inner = template.trim().replace(/^\{\{\s*/, '').replace(/\s*\}\}$/, '');
    const capture = hb.compile(`{{__ferry_capture (${inner})}}`, { strict: true, noEscape: true });
    try {
      capture(vars, { helpers: { __ferry_capture: (v: unknown) => ((captured = v), '') } });
    } catch (e) {
      throw new TemplateError(`template error: ${(e as Error).message.split('\n')[0]}`, loc, { cause: e });
    }
    return captured;
  }
  let fn = compiled.get(template);
  try {
    if (!fn) {
      fn = hb.compile(template, { strict: true, noEscape: true });
      compiled.set(template, fn);
    }
    return fn(vars);
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    const msg = (e as Error).message;
    const undef = /^"([^"]+)" not defined in .* - (\d+):(\d+)/.exec(msg);
    if (undef) {
      const name = pathAt(template, Number(undef[2]), Number(undef[3])) ?? undef[1];
      throw new TemplateError(`undefined variable '${name}'`, loc, { cause: e });
    }
    const lineInTemplate = /Parse error on line (\d+)/.exec(msg);
    const where = loc && lineInTemplate ? { ...loc, line: loc.line + Number(lineInTemplate[1]) - 1 } : loc;
    throw new TemplateError(`template syntax error: ${msg.split('\n').slice(0, 3).join(' ')}`, where, { cause: e });
  }
}

/** Checks a template's syntax without rendering (used at load time). Returns an error message or undefined. */
export function checkTemplateSyntax(template: string): string | undefined {
  if (!isTemplated(template)) return undefined;
  try {
    hb.parse(template);
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/**
 * Renders every string inside a value (task args), recursively; each error names the file:line of the
 * node that held the string. Keys are not rendered.
 */
export function renderDeep<T>(value: T, vars: Record<string, unknown>, loc?: Loc): T {
  const walk = (v: unknown, here: Loc | undefined): unknown => {
    if (typeof v === 'string') return renderString(v, vars, here);
    if (Array.isArray(v)) {
      const out = v.map((x, i) => walk(x, locOf(v, i) ?? here));
      return out;
    }
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, locOf(v, k) ?? here);
      return out;
    }
    return v;
  };
  const rendered = walk(value, locOf(value) ?? loc);
  return rendered as T;
}

/** Renders a template file (the `template` module): strict, no escaping; errors name the file and line. */
export function renderTemplateFile(path: string, vars: Record<string, unknown>): string {
  const text = readFileSync(path, 'utf8');
  try {
    const fn = hb.compile(text, { strict: true, noEscape: true });
    return fn(vars);
  } catch (e) {
    const msg = (e as Error).message;
    const undef = /^"([^"]+)" not defined in .* - (\d+):(\d+)/.exec(msg);
    if (undef) {
      const line = Number(undef[2]);
      const name = pathAt(text, line, Number(undef[3])) ?? undef[1];
      throw new TemplateError(`undefined variable '${name}'`, { file: path, line }, { cause: e });
    }
    const pl = /Parse error on line (\d+)/.exec(msg);
    throw new TemplateError(`template syntax error: ${msg.split('\n')[0]}`, { file: path, line: pl ? Number(pl[1]) : 1 }, { cause: e });
  }
}

