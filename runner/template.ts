// Templating for playbooks, inventories and -e: every `{{ … }}` is a Jinja2 expression (runner/expr),
// strict (an undefined variable is an error naming it and file:line), nothing HTML-escaped. A value
// that is exactly one `{{ expression }}` keeps its type. Template files are Jinja2 unless they end in
// `.hbs`, which are handlebars (the libvirt domain XML and users' own .hbs templates).
import { readFileSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename } from 'node:path';
import type Handlebars from 'handlebars';
import { quote } from './command.js';
import { TemplateError, type Loc } from './errors.js';
import {
  ANSIBLE_TEMPLATE_OPTIONS,
  ANSIBLE_VALUE_OPTIONS,
  ExprEvalError,
  ExprSyntaxError,
  OMIT,
  TemplateSyntaxError,
  UndefinedVariableError,
  evaluateBool,
  hasTemplateSyntax,
  parseTemplate,
  quoteName,
  renderTemplate,
  renderValue,
  singleExpression,
  templateLineOf,
  type EvalOptions,
  type Expr,
  type TemplateOptions,
} from './expr/index.js';
import { lazyRequire } from './lazy-require.js';
import { controllerLookups, lookupVault } from './lookups.js';
import { locOf } from './yaml-source.js';

// handlebars is loaded by the first .hbs template a run renders, not at start: most runs have none
// (it cost 50–65 ms of CPU at every start; bench/README.md, exec-hosts.ts).
const handlebars = lazyRequire<typeof Handlebars>('handlebars');
let hbInstance: typeof Handlebars | undefined;

/** ferry's own handlebars environment, with the helpers of .hbs templates; created on first use. */
function hb(): typeof Handlebars {
  if (hbInstance) return hbInstance;
  const h = handlebars().create();
  // lookups in helper arguments are lenient in handlebars, so `default` works on undefined values
  h.registerHelper('default', (v: unknown, d: unknown) => (v === undefined || v === null ? d : v));
  h.registerHelper('quote', (v: unknown) => quote(String(v)));
  h.registerHelper('json', (v: unknown) => JSON.stringify(v));
  h.registerHelper('join', (v: unknown, sep: unknown) => (Array.isArray(v) ? v.join(typeof sep === 'string' ? sep : ',') : String(v)));
  h.registerHelper('upper', (v: unknown) => String(v).toUpperCase());
  h.registerHelper('lower', (v: unknown) => String(v).toLowerCase());
  h.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  h.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  h.registerHelper('basename', (v: unknown) => String(v).replace(/\/+$/, '').split('/').pop() ?? '');
  return (hbInstance = h);
}

/** What `ansible_managed` says in a template unless the variable is set: ferry's version of Ansible's "Ansible managed". */
export const DEFAULT_MANAGED = 'Managed by ferry';

/** Whether a string holds template syntax at all. */
export function isTemplated(s: string): boolean {
  return hasTemplateSyntax(s);
}

// Lookups read files relative to the role (role_path) and then the playbook, as Ansible's do: the engine sets both.
function evalOptions(vars: Record<string, unknown>): EvalOptions {
  const dir = Object.hasOwn(vars, 'playbook_dir') && typeof vars.playbook_dir === 'string' ? vars.playbook_dir : process.cwd();
  const role = Object.hasOwn(vars, 'role_path') && typeof vars.role_path === 'string' ? [vars.role_path] : [];
  return { lookup: controllerLookups([...role, dir], process.env, lookupVault(vars)) };
}

// Leftover handlebars in a value: say what to write in Jinja2 instead.
const HBS_HELPERS: Record<string, (args: string[]) => string> = {
  default: ([x = 'x', d = "'…'"]) => `{{ ${x} | default(${d === 'null' ? 'omit' : hbsLiteral(d)}) }}`,
  quote: ([x = 'x']) => `{{ ${x} | quote }}`,
  join: ([x = 'x', sep = "','"]) => `{{ ${x} | join(${hbsLiteral(sep)}) }}`,
  json: ([x = 'x']) => `{{ ${x} | to_json }}`,
  upper: ([x = 'x']) => `{{ ${x} | upper }}`,
  lower: ([x = 'x']) => `{{ ${x} | lower }}`,
  basename: ([x = 'x']) => `{{ ${x} | basename }}`,
  eq: ([a = 'a', b = 'b']) => `{{ ${a} == ${b} }}`,
  ne: ([a = 'a', b = 'b']) => `{{ ${a} != ${b} }}`,
};

function hbsLiteral(s: string): string {
  return /^"(.*)"$/.test(s) ? `'${s.slice(1, -1).replace(/'/g, "\\'")}'` : s;
}

// `a.[0]` → `a[0]`, `hostvars.[lab-hv].x` → `hostvars['lab-hv'].x`
function hbsPath(p: string): string {
  return p.replace(/\.\[(\d+)\]/g, '[$1]').replace(/\.\[([^\]]+)\]/g, "['$1']");
}

/** When a value is handlebars syntax, what to write in Jinja2 instead; undefined otherwise. */
export function handlebarsHint(value: string): string | undefined {
  const block = /\{\{\s*[#/^]\s*(\w+)/.exec(value);
  if (block) return `this is handlebars syntax; in Jinja2 write {% ${block[1] === 'each' ? 'for x in list' : block[1]} %}…{% end${block[1] === 'each' ? 'for' : block[1]} %}`;
  for (const m of value.matchAll(/\{\{\s*([A-Za-z_]\w*)\s+((?:"[^"]*"|'[^']*'|[^\s}]+)(?:\s+(?:"[^"]*"|'[^']*'|[^\s}]+))*)\s*\}\}/g)) {
    const helper = HBS_HELPERS[m[1]!];
    if (!helper || !Object.hasOwn(HBS_HELPERS, m[1]!)) continue;
    const args = m[2]!.match(/"[^"]*"|'[^']*'|[^\s]+/g)!.map(hbsPath);
    return `this is handlebars syntax; in Jinja2 write ${helper(args)}`;
  }
  const path = /\{\{[^}]*\.\[[^\]]+\][^}]*\}\}/.exec(value);
  if (path) return `this is handlebars syntax; in Jinja2 write ${hbsPath(path[0]).replace(/^\{\{\s*/, '{{ ').replace(/\s*\}\}$/, ' }}')}`;
  return undefined;
}

function lineIn(loc: Loc | undefined, line: number | undefined): Loc | undefined {
  if (!loc || !line || line <= 1) return loc;
  return { file: loc.file, line: loc.line + line - 1 };
}

/** Turns an expression error into a TemplateError at file:line (the value's line plus the line inside a multi-line value). */
function templateError(e: unknown, loc: Loc | undefined, source: string): never {
  if (e instanceof TemplateSyntaxError) {
    const hint = handlebarsHint(source);
    throw new TemplateError(`template syntax error: ${hint ?? `${e.reason} (column ${e.col})`}`, lineIn(loc, e.line), { cause: e });
  }
  if (e instanceof ExprEvalError) throw new TemplateError(evalMessage(e), lineIn(loc, templateLineOf(e)), { cause: e });
  throw e;
}

// "'x' is undefined (why)…" reads as "undefined variable 'x' (why)…" in a template error.
function evalMessage(e: ExprEvalError): string {
  if (!(e instanceof UndefinedVariableError)) return e.message;
  const head = `${quoteName(e.variable)} is undefined`;
  const message = e.message.startsWith(head) ? `undefined variable ${quoteName(e.variable)}${e.message.slice(head.length)}` : e.message;
  return e.variable.startsWith('ansible_') ? `${message} (a fact such as ${quoteName(e.variable)} is set only when facts are gathered: set gather_facts: true (or run setup))` : message;
}

/** Renders one value with `vars`: `{{ x }}` alone keeps x's type (omit included); errors name the variable and `loc`. */
export function renderString(template: string, vars: Record<string, unknown>, loc?: Loc): unknown {
  if (!isTemplated(template)) return template;
  try {
    return renderValue(template, vars, evalOptions(vars));
  } catch (e) {
    templateError(e, loc, template);
  }
}

/** Evaluates a condition (when, failed_when, changed_when, until) with the lookups of the play. */
export function evaluateCondition(expr: Expr, vars: Record<string, unknown>): boolean {
  return evaluateBool(expr, vars, evalOptions(vars));
}

/** Checks a value's template syntax without rendering (used at load time). Returns an error message or undefined. */
export function checkTemplateSyntax(template: string): string | undefined {
  if (!isTemplated(template)) return undefined;
  try {
    parseTemplate(template, ANSIBLE_VALUE_OPTIONS);
    return undefined;
  } catch (e) {
    if (e instanceof TemplateSyntaxError || e instanceof ExprSyntaxError) {
      return handlebarsHint(template) ?? `${e.reason}${e instanceof TemplateSyntaxError ? ` (line ${e.line}, column ${e.col} of the value)` : ''}`;
    }
    throw e;
  }
}

/**
 * Renders every string inside a value (task args), recursively; each error names the file:line of the
 * node that held the string. Keys are not rendered. A mapping entry whose value renders to omit is left out.
 */
export function renderDeep<T>(value: T, vars: Record<string, unknown>, loc?: Loc): T {
  const walk = (v: unknown, here: Loc | undefined): unknown => {
    if (typeof v === 'string') return renderString(v, vars, here);
    if (Array.isArray(v)) {
      return v.map((x, i) => {
        const r = walk(x, locOf(v, i) ?? here);
        if (r === OMIT) throw new TemplateError('omit can only be the value of a parameter, not an item of a list', locOf(v, i) ?? here);
        return r;
      });
    }
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const r = walk(x, locOf(v, k) ?? here);
        if (r !== OMIT) out[k] = r;
      }
      return out;
    }
    return v;
  };
  const rendered = walk(value, locOf(value) ?? loc);
  if (rendered === OMIT) throw new TemplateError('omit can only be the value of a parameter', loc);
  return rendered as T;
}

/** The variables the template module adds, as Ansible's generate_ansible_template_vars does. */
export function templateFileVars(path: string, src: string, dest: string | undefined, vars: Record<string, unknown>): Record<string, unknown> {
  const st = statSync(path);
  let uid = String(st.uid);
  try {
    if (userInfo().uid === st.uid) uid = userInfo().username;
  } catch {
    // no passwd entry: the number, as Ansible falls back to
  }
  const managed = Object.hasOwn(vars, 'ansible_managed') && typeof vars.ansible_managed === 'string' ? vars.ansible_managed : DEFAULT_MANAGED;
  return {
    template_host: hostname(),
    template_path: src,
    template_fullpath: path,
    template_uid: uid,
    template_mtime: st.mtime.toISOString(),
    template_run_date: new Date().toISOString(),
    template_destpath: dest ?? null,
    ansible_managed: managed,
  };
}

/** Template options of the template module: Ansible's defaults, with its trim_blocks / lstrip_blocks parameters. */
export type TemplateFileOptions = Partial<Pick<TemplateOptions, 'trimBlocks' | 'lstripBlocks'>>;

/** Renders a template file strictly, no escaping: Jinja2, or handlebars for a `.hbs` file; errors name the file and line. */
export function renderTemplateFile(path: string, vars: Record<string, unknown>, opts: TemplateFileOptions = {}): string {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.hbs')) return renderHandlebars(path, text, vars);
  const loc = { file: path, line: 1 };
  try {
    const t = parseTemplate(text, { ...ANSIBLE_TEMPLATE_OPTIONS, ...opts });
    return renderTemplate(t, vars, evalOptions(vars));
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw new TemplateError(`template syntax error: ${e.reason} (column ${e.col})`, { file: path, line: e.line }, { cause: e });
    if (e instanceof ExprEvalError) throw new TemplateError(evalMessage(e), lineIn(loc, templateLineOf(e)) ?? loc, { cause: e });
    throw e;
  }
}

/** Finds the full path of the mustache at line:col of a template (handlebars names only the last segment). */
function pathAt(template: string, line: number, col: number): string | undefined {
  try {
    const ast = hb().parse(template);
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

/** Renders a handlebars file whatever its name (the libvirt domain XML templates), strictly, naming file:line on error. */
export function renderHandlebarsFile(path: string, vars: Record<string, unknown>): string {
  return renderHandlebars(path, readFileSync(path, 'utf8'), vars);
}

/** Whether a value renders to a value of any type (exactly one `{{ expression }}`), not always to a string. */
export function yieldsValue(template: string): boolean {
  try {
    return singleExpression(template) !== null;
  } catch {
    return true; // a syntax error is reported by the loader's own check
  }
}

/** The variable a value names when it is exactly one `{{ name }}` (no path, no filter), else undefined. */
export function singleVariable(template: string): string | undefined {
  try {
    const e = singleExpression(template);
    return e?.kind === 'var' ? e.name : undefined;
  } catch {
    return undefined;
  }
}

function renderHandlebars(path: string, text: string, vars: Record<string, unknown>): string {
  try {
    const fn = hb().compile(text, { strict: true, noEscape: true });
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

/** The name a rendered template file gets on the host when dest is a directory: src without .j2 / .hbs. */
export function renderedName(src: string): string {
  return basename(src).replace(/\.(j2|hbs)$/, '');
}
