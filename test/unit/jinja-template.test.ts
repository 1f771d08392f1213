// Jinja2 templates and the load-time analysis: syntax errors at line and column, which variables a
// value or template reads (and which reads are guarded), and templates that try to escape the sandbox.
import assert from 'node:assert/strict';
import {
  ExprEvalError,
  ExprSyntaxError,
  OMIT,
  TemplateSyntaxError,
  UndefinedVariableError,
  exprVariables,
  parseCondition,
  parseExpr,
  parseTemplate,
  renderTemplate,
  renderValue,
  templateLineOf,
  templateVariables,
  definedWhenTrue,
} from '../../runner/expr/index.js';

describe('jinja templates: syntax errors name the line and column', () => {
  const cases: [string, number, number, RegExp][] = [
    ['a\n{% if %}\n{% endif %}', 2, 7, /expected a value/],
    ['{% if x %}\nno end\n', 1, 1, /'\{% if %\}' is never closed: add '\{% endif %\}'/],
    ['{% for x in y %}\n{% endif %}', 2, 4, /unexpected 'endif': the open block is 'for' \(line 1\), closed by 'endfor'/],
    ['{% endfor %}', 1, 4, /unexpected 'endfor': nothing is open/],
    ['x\n  {% macro m() %}{% endmacro %}', 2, 6, /'\{% macro %\}' \(macros\) is not supported/],
    ['{% include "a.j2" %}', 1, 4, /include/],
    ['{% frob %}', 1, 4, /unknown statement 'frob'/],
    ['line\n{{ a | nosuch }}', 2, 8, /unknown filter 'nosuch'/],
    ['{{ a }}\n{{ b', 2, 1, /missing '\}\}' to close the '\{\{'/],
    ['{# never closed', 1, 1, /missing '#\}'/],
    ['{% raw %}x', 1, 1, /missing '\{% endraw %\}'/],
    ['{{ }}', 1, 3, /empty expression/],
    ['{% for x y %}{% endfor %}', 1, 10, /expected 'in' after the loop variable/],
    ['{% for x in y recursive %}{% endfor %}', 1, 15, /recursive loops are not supported/],
    ['{% set x.y = 1 %}', 1, 9, /namespace/],
    ['{% if a %}{% else %}{% else %}{% endif %}', 1, 24, /a second else/],
    ['{% if a %}{% else %}{% elif b %}{% endif %}', 1, 24, /after its else/],
    ["{{ 'unterminated }}", 1, 4, /unterminated string/],
  ];
  for (const [src, line, col, re] of cases) {
    it(`${JSON.stringify(src)} -> ${line}:${col}`, () => {
      assert.throws(
        () => parseTemplate(src),
        (e: unknown) => {
          assert.ok(e instanceof TemplateSyntaxError, `expected TemplateSyntaxError, got ${String(e)}`);
          assert.match(e.reason, re);
          assert.deepEqual([e.line, e.col], [line, col], e.message);
          return true;
        },
      );
    });
  }
  it('an evaluation error keeps its class and carries the template line', () => {
    const t = parseTemplate('ok\n{% for u in users %}\n{{ u.nmae }}\n{% endfor %}\n');
    assert.throws(
      () => renderTemplate(t, { users: [{ name: 'a' }] }),
      (e: unknown) => e instanceof UndefinedVariableError && templateLineOf(e) === 3 && /'u\.nmae' is undefined \('u' has no key 'nmae'\)/.test(e.message),
    );
  });
});

describe('jinja values: one expression keeps its type', () => {
  const vars = { l: [1, 2], n: 3, s: 'x', none: null, m: { a: 1 } };
  const cases: [string, unknown][] = [
    ['{{ l }}', [1, 2]],
    ['{{ n }}', 3],
    ['{{ none }}', null],
    ['{{ m }}', { a: 1 }],
    ['{{ n > 2 }}', true],
    ['{{ missing | default(omit) }}', OMIT],
    ['{{- l -}}', [1, 2]],
    [' {{ l }}', ' [1, 2]'],
    ['{{ l }} ', '[1, 2] '],
    ['{{ l }}\n', '[1, 2]\n'],
    ['{{ s }}{{ n }}', 'x3'],
    ['no template', 'no template'],
    ['{{ none }}-', '-'],
    ['{% if n %}{{ l }}{% endif %}', '[1, 2]'],
  ];
  for (const [src, want] of cases) it(`${JSON.stringify(src)} -> ${JSON.stringify(want)}`, () => assert.deepEqual(renderValue(src, vars), want));
  it('omit inside text is an error that says where omit belongs', () => {
    assert.throws(() => renderValue('x{{ omit }}', vars), (e: unknown) => e instanceof ExprEvalError && /omit can only be the whole value/.test(e.message));
  });
  it('string literals keep their backslashes in values (Ansible escape_backslashes), not in templates', () => {
    assert.equal(renderValue("{{ 'a\\nb' }}", {}), 'a\\nb');
    assert.equal(renderTemplate(parseTemplate("{{ 'a\\nb' }}"), {}), 'a\nb');
    assert.equal(renderValue("{{ 'x1' | regex_replace('(\\d)', '<\\1>') }}", {}), 'x<1>');
  });
});

describe('jinja analysis: which variables a value reads, and which reads are guarded', () => {
  const unguarded = (uses: { name: string; guarded: boolean }[]): string[] => [...new Set(uses.filter((u) => !u.guarded).map((u) => u.name))].sort();
  const exprCases: [string, string[]][] = [
    ['a', ['a']],
    ['a.b[c].d', ['a', 'c']],
    ['a | default(1)', []],
    ['a.b.c | default(x)', ['x']],
    ['(a | default({})).b', []],
    ['a is defined', []],
    ['a is defined and a.b > 1', []],
    ['a is undefined or a.b', []],
    ['a is not defined or a.b', []],
    ['not (a is defined) or a', []],
    ['a is defined or a', ['a']],
    ['a.b if a is defined else c', ['c']],
    ['c if a is undefined else a', ['c']],
    ['a if b else a | default(1)', ['a', 'b']],
    ["hostvars[h].x | default('') ~ y", ['h', 'y']],
    ["lookup('env', name)", ['name']],
    ['range(n) | map(attribute=k) | list', ['k', 'n']],
    ['d.items() | selectattr(1, "defined")', ['d']],
    ['omit', ['omit']],
  ];
  for (const [src, want] of exprCases) {
    it(`${src}: unguarded ${JSON.stringify(want)}`, () => assert.deepEqual(unguarded(exprVariables(parseExpr(src))), want));
  }
  it('names a when: proves defined guard the task (the engine passes them as proven)', () => {
    const when = parseCondition(['x is defined', 'y is not undefined or z is undefined', 'w'], undefined);
    assert.deepEqual([...definedWhenTrue(when)].sort(), ['x']);
    assert.deepEqual(unguarded(exprVariables(parseExpr('x.a ~ w'), definedWhenTrue(when))), ['w']);
  });
  const templateCases: [string, string[]][] = [
    ['{{ a }}{{ b | default(1) }}', ['a']],
    ['{% set x = 1 %}{{ x }}{{ y }}', ['y']],
    ['{% for i in items %}{{ i.name }}{{ loop.index }}{{ z }}{% endfor %}', ['items', 'z']],
    ['{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}', ['d']],
    ['{% if p is defined %}{{ p.q }}{% elif r is defined %}{{ r }}{{ p }}{% else %}{{ s }}{% endif %}', ['p', 's']],
    ['{% if p is undefined %}{{ s }}{% else %}{{ p }}{% endif %}', ['s']],
    ['{% set blk %}{{ u }}{% endset %}{{ blk }}', ['u']],
    ['{% for i in l if i.ok %}{{ i }}{% endfor %}{{ i }}', ['i', 'l']],
  ];
  for (const [src, want] of templateCases) {
    it(`${src}: unguarded ${JSON.stringify(want)}`, () => assert.deepEqual(unguarded(templateVariables(parseTemplate(src))), want));
  }
  it('reports the template line of each read', () => {
    assert.deepEqual(
      templateVariables(parseTemplate('a\n{{ one }}\n\n{% if two %}{% endif %}')).map((u) => [u.name, u.line]),
      [['one', 2], ['two', 4]],
    );
  });
});

describe('jinja sandbox: templates and methods cannot reach JavaScript or run code', () => {
  const hostile = [
    "{{ s.constructor }}",
    "{{ s.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ s.constructor.constructor('return process')() }}",
    "{{ s.split.constructor }}",
    "{{ s.split }}",
    "{{ l.map }}",
    "{{ m.toString() }}",
    "{{ m.hasOwnProperty('a') }}",
    "{{ m.__proto__ }}",
    "{{ m['__proto__'] }}",
    "{{ (m.items() | first).constructor }}",
    "{{ lookup('pipe', 'id') }}",
    "{{ query('ansible.builtin.pipe', 'id') }}",
    "{{ cycler('a') }}",
    "{{ self }}",
    "{{ range.constructor }}",
    "{% for x in m.__proto__ %}{% endfor %}",
    "{% set m.polluted = 1 %}",
    "{{ s.format.__globals__ }}",
    "{{ '{0.__class__}'.format(s) }}",
    "{{ '{0.constructor.name}'.format(s) }}",
    "{{ '%(constructor)s' % m }}",
    "{{ m.get('constructor') }}",
    "{{ m.get('__proto__') }}",
    "{{ dict(__proto__={'polluted': 1}).polluted }}",
    "{{ {} | combine({'__proto__': {'polluted': 1}}) }}",
    "{{ '{\"__proto__\": {\"polluted\": 1}}' | from_json | combine({}) }}",
  ];
  const vars = { s: 'text', l: [1], m: { a: 1 } };
  for (const src of hostile) {
    it(src, () => {
      let out: unknown;
      try {
        out = renderValue(src, vars);
      } catch (e) {
        assert.ok(e instanceof ExprSyntaxError || e instanceof ExprEvalError || e instanceof TemplateSyntaxError, `must fail as an expression error, got ${String(e)}`);
        return;
      }
      assert.notEqual(typeof out, 'function');
      assert.ok(!/function|native code|\[object/.test(JSON.stringify(out) ?? ''), `leaked: ${JSON.stringify(out)}`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }
  const bounded: [string, RegExp][] = [
    ['{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', /more than 1000000 loop iterations/],
    ["{{ 'x' * 100000000 }}", /at most 10000000/],
    ["{{ range(1000000000) }}", /range\(\) is too long/],
    ["{% for i in range(99999) %}{{ 'x' * 1000 }}{% endfor %}", /renders to more than/],
  ];
  for (const [src, re] of bounded) {
    it(`bounded: ${src}`, () => {
      const t0 = Date.now();
      assert.throws(() => renderValue(src, vars), re);
      assert.ok(Date.now() - t0 < 20000, 'must stop long before running the loops out');
    });
  }
  it('a __proto__ key from data stays data', () => {
    const out = renderValue("{{ '{\"__proto__\": {\"polluted\": 1}}' | from_json }}", {}) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
