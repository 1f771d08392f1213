// The Jinja2 corpus: every case of test/fixtures/jinja/cases.yaml, with the result that real Ansible
// 2.14 / Jinja2 3.1 gives for it (expected.json, written by test/tools/jinja-corpus.py). ferry must
// give the same value, the same text, or an error of the same kind; `ferry:` marks a deliberate
// difference, with its reason.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  ExprEvalError,
  ExprSyntaxError,
  OMIT,
  TemplateSyntaxError,
  UndefinedVariableError,
  evaluate,
  parseExpr,
  parseTemplate,
  renderTemplate,
  renderValue,
  ANSIBLE_TEMPLATE_OPTIONS,
} from '../../runner/expr/index.js';
import { controllerLookups } from '../../runner/lookups.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'jinja');

interface Case {
  expr?: string;
  value?: string;
  name?: string;
  template?: string;
  vars?: Record<string, unknown>;
  ferry?: unknown;
  why?: string;
  trim_blocks?: boolean;
  lstrip_blocks?: boolean;
}
interface Outcome {
  value?: unknown;
  error?: 'undefined' | 'error';
  message?: string;
  native?: Outcome;
}

const cases = parse(readFileSync(join(dir, 'cases.yaml'), 'utf8')) as { vars: Record<string, unknown>; expressions: Case[]; values: Case[]; templates: Case[] };
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<'expressions' | 'values' | 'templates', Record<string, Outcome>>;
const lookup = controllerLookups([dir], { FERRY_CORPUS_ENV: 'from-env' });

// ferry's omit is a value of its own; Ansible's is a placeholder string (the corpus tool sets it).
function comparable(v: unknown): unknown {
  if (v === OMIT) return '__omit_place_holder__';
  if (Array.isArray(v)) return v.map(comparable);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

function check(run: () => unknown, want: Outcome, c: Case): void {
  if (c.ferry === 'syntax') {
    assert.throws(run, (e: unknown) => e instanceof ExprSyntaxError || e instanceof TemplateSyntaxError, c.why);
    return;
  }
  if (c.ferry === 'error' || want.error) {
    const undefinedOnly = want.error === 'undefined' && c.ferry === undefined;
    assert.throws(run, (e: unknown) => {
      if (undefinedOnly) assert.ok(e instanceof UndefinedVariableError, `expected an undefined-variable error (Ansible: ${want.message}), got ${String(e)}`);
      else assert.ok(e instanceof ExprEvalError || e instanceof ExprSyntaxError || e instanceof TemplateSyntaxError, `expected an expression error (Ansible: ${want.message}), got ${String(e)}`);
      return true;
    });
    return;
  }
  assert.deepEqual(comparable(run()), c.ferry !== undefined ? c.ferry : want.value);
}

function missing(kind: string, key: string): never {
  assert.fail(`no expectation for ${kind} ${JSON.stringify(key)}: run /usr/bin/python3 test/tools/jinja-corpus.py`);
}

describe('jinja corpus: expressions (as Ansible evaluates them)', () => {
  for (const c of cases.expressions) {
    it(`${c.expr}`, () => {
      const want = expected.expressions[c.expr!] ?? missing('expression', c.expr!);
      check(() => evaluate(parseExpr(c.expr!), { ...cases.vars, ...c.vars }, { lookup }), want, c);
    });
  }
});

describe('jinja corpus: playbook values (one expression keeps its type, mixed text is text)', () => {
  for (const c of cases.values) {
    it(JSON.stringify(c.value), () => {
      const want = expected.values[c.value!] ?? missing('value', c.value!);
      check(() => renderValue(c.value!, { ...cases.vars, ...c.vars }, { lookup }), want.native && !want.native.error ? want.native : want, c);
    });
  }
});

describe('jinja corpus: templates (as the template module renders them)', () => {
  for (const c of cases.templates) {
    it(c.name!, () => {
      const want = expected.templates[c.name!] ?? missing('template', c.name!);
      const opts = { ...ANSIBLE_TEMPLATE_OPTIONS, trimBlocks: c.trim_blocks ?? true, lstripBlocks: c.lstrip_blocks ?? false };
      check(() => renderTemplate(parseTemplate(c.template!, opts), { ...cases.vars, ...c.vars, ansible_managed: 'Managed by ferry' }, { lookup }), want, c);
    });
  }
});
