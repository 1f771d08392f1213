// Table-driven tests of the condition language: parse, evaluate, errors with columns, and attempts
// to execute code or reach the prototype chain (which must fail as errors, never run).
import assert from 'node:assert/strict';
import {
  ExprEvalError,
  ExprSyntaxError,
  MAX_EXPR_DEPTH,
  UndefinedVariableError,
  evaluate,
  evaluateBool,
  formatExpr,
  parseCondition,
  parseExpr,
  parseExprAt,
} from '../../runner/expr/index.js';
import { ValidationError } from '../../runner/errors.js';
import { parseYaml, locOf } from '../../runner/yaml-source.js';

// Variables shaped as the engine provides them: inventory vars, facts, registered results.
const vars = {
  a: true,
  b: false,
  c: true,
  zero: 0,
  n: 5,
  s: '12',
  empty: '',
  nothing: null,
  list: [1, 2, 3],
  names: ['web1', 'db1'],
  map: { k: 'v', 'with-dash': 1, '0': 'zero-key' },
  inventory_hostname: 'web1',
  hostvars: { web1: { x: 42, guest: { name: 'vm1' } }, db1: { x: 1 } },
  ok_result: { rc: 0, failed: false, changed: true, stdout: 'hello world', stdout_lines: ['hello world'] },
  bad_result: { rc: 2, failed: true, changed: false, stderr: 'boom' },
  skipped_result: { changed: false, skipped: true, skip_reason: 'Conditional result was False' },
  loop_result: { results: [{ changed: false }, { changed: true }] },
  distro_version: '12.4',
  yes_string: 'Yes',
};

describe('expr: evaluation', () => {
  const cases: [string, unknown][] = [
    // literals
    ["'single'", 'single'],
    ['"double"', 'double'],
    ["'it\\'s'", "it's"],
    ["'a' 'b'", 'ab'],
    ['42', 42],
    ['3.5', 3.5],
    ['1e3', 1000],
    ['true', true],
    ['True', true],
    ['false', false],
    ['False', false],
    ['none', null],
    ['None', null],
    ['null', null],
    ['[1, "two", none]', [1, 'two', null]],
    ['[]', []],
    ['(1, 2)', [1, 2]],
    ["{'k': 1}", { k: 1 }],
    // variable paths
    ['n', 5],
    ['map.k', 'v'],
    ["map['k']", 'v'],
    ["map['with-dash']", 1],
    ['map[0]', 'zero-key'],
    ['list[0]', 1],
    ['list.1', 2],
    ['list[-1]', 3],
    ['hostvars[inventory_hostname].x', 42],
    ["hostvars['db1'].x", 1],
    ['hostvars[inventory_hostname].guest.name', 'vm1'],
    ['hostvars[names[1]]["x"]', 1],
    // comparisons
    ['n == 5', true],
    ['n != 5', false],
    ['n < 6', true],
    ['n <= 5', true],
    ['n > 5', false],
    ['n >= 5', true],
    ['1 < n < 10', true],
    ['1 < n < 3', false],
    ["'abc' < 'abd'", true],
    ['[1, 2] == [1, 2]', true],
    ['[1, 2] < [1, 3]', true],
    ["{'a': 1} == {'a': 1}", true],
    ['true == 1', true],
    ["s == 12", false],
    ['s | int == 12', true],
    ['nothing == none', true],
    // membership
    ['2 in list', true],
    ['7 not in list', true],
    ["'world' in ok_result.stdout", true],
    ["'k' in map", true],
    ["'zz' in map", false],
    ['inventory_hostname in names', true],
    ["inventory_hostname not in ['db1']", true],
    // boolean logic (Python semantics: the deciding value is returned)
    ['a and c', true],
    ['a and b', false],
    ['b or c', true],
    ['zero or n', 5],
    ['n and list', [1, 2, 3]],
    ['not b', true],
    ['not zero', true],
    ['not empty', true],
    ['not list', false],
    // arithmetic
    ['n + 1', 6],
    ['n - 7', -2],
    ['n * 2', 10],
    ['n / 2', 2.5],
    ['n // 2', 2],
    ['n % 3', 2],
    ['-n % 3', 1],
    ['-n', -5],
    ["'a' + 'b'", 'ab'],
    ['list + [4]', [1, 2, 3, 4]],
    ["'v' ~ n ~ none", 'v5None'],
    ['2 + 3 * 4', 14],
    ['(2 + 3) * 4', 20],
    // tests
    ['n is defined', true],
    ['missing is defined', false],
    ['missing is undefined', true],
    ['missing is not defined', true],
    ['missing.deeper.still is defined', false],
    ['hostvars.nohost.x is defined', false],
    ['hostvars[inventory_hostname].x is defined', true],
    ['nothing.attr is defined', false],
    ['list[10] is defined', false],
    ['nothing is none', true],
    ['n is not none', true],
    ['a is true', true],
    ['n is true', false],
    ['b is false', true],
    ['s is string', true],
    ['n is number', true],
    ['map is mapping', true],
    ['list is sequence', true],
    ['ok_result is succeeded', true],
    ['ok_result is success', true],
    ['ok_result is successful', true],
    ['ok_result is failed', false],
    ['bad_result is failed', true],
    ['bad_result is not succeeded', true],
    ['ok_result is changed', true],
    ['bad_result is changed', false],
    ['loop_result is changed', true],
    ['skipped_result is skipped', true],
    ['ok_result is skipped', false],
    ["distro_version is version('12', '>=')", true],
    ["distro_version is version('12.10', '<')", true],
    ["'7.9.2009' is version('8', 'lt')", true],
    ["distro_version is version('12.4')", true],
    // filters
    ['list | length', 3],
    ["'abc' | length", 3],
    ['map | count', 3],
    ['missing | default(7)', 7],
    ['missing | d(7)', 7],
    ['missing | default', ''],
    ['n | default(7)', 5],
    ["empty | default('x')", ''],
    ["empty | default('x', true)", 'x'],
    ['missing.key | default(none) is none', true],
    ["'42' | int", 42],
    ["' 42 ' | int", 42],
    ["'4.7' | int", 4],
    ["'abc' | int", 0],
    ["'abc' | int(-1)", -1],
    ['3.9 | int', 3],
    ["'2.5' | float", 2.5],
    ['yes_string | bool', true],
    ["'off' | bool", false],
    ["'true' | bool", true],
    ['1 | bool', true],
    ['n | string', '5'],
    ['a | string', 'True'],
    ['nothing | string', 'None'],
    ["'MiXed' | lower", 'mixed'],
    ["'MiXed' | upper", 'MIXED'],
    ["'  pad \\n' | trim", 'pad'],
    ['list | first', 1],
    ['list | last', 3],
    ["names | join(',')", 'web1,db1'],
    ["'ab' | list", ['a', 'b']],
    ['(-3) | abs', 3],
    ['-3 | abs', 3], // as Jinja 3.1 (checked): a filter applies to the negated value, `(-3) | abs`
    ["'x' * 3", 'xxx'],
    ["a | ternary('yes', 'no')", 'yes'],
    ["ok_result.stdout | upper | lower | length > 3", true],
    ['list | length > 2 and n is defined', true],
    // conditional expression
    ["'big' if n > 3 else 'small'", 'big'],
    ["'big' if n > 30 else 'small'", 'small'],
    // {{ }} wrapper
    ['{{ n == 5 }}', true],
    ['  {{list|length}}  ', 3],
  ];
  for (const [src, want] of cases) {
    it(`${src} -> ${JSON.stringify(want)}`, () => {
      assert.deepEqual(evaluate(parseExpr(src), vars), want);
    });
  }
});

describe('expr: precedence', () => {
  const cases: [string, string][] = [
    ['not a and b or c', '((not a) and b) or c'],
    ['a or b and c', 'a or (b and c)'],
    ['not a == b', 'not (a == b)'],
    ['not x is defined', 'not (x is defined)'],
    ['x | length > 0', '(x | length) > 0'],
    ['1 + x | int', '1 + (x | int)'],
    ['a and not b in c', 'a and (not (b in c))'],
    ['x is defined and x.y or z', '((x is defined) and x.y) or z'],
    ['-x | abs', '(-x) | abs'],
    ['a ~ b == c', '(a ~ b) == c'],
    ["'a' if b else 'c' or d", "'a' if b else ('c' or d)"],
  ];
  for (const [src, want] of cases) {
    it(`${src}  ≡  ${want}`, () => assert.equal(formatExpr(parseExpr(src)), want));
  }
  it('not a and b or c: true when only c is true', () => {
    const e = parseExpr('not a and b or c');
    assert.equal(evaluateBool(e, { a: true, b: false, c: true }), true);
    assert.equal(evaluateBool(e, { a: true, b: true, c: false }), false);
    assert.equal(evaluateBool(e, { a: false, b: true, c: false }), true);
  });
  it('short-circuits: the right side of a guard is never evaluated', () => {
    assert.equal(evaluateBool(parseExpr('x is defined and x.y > 1'), {}), false);
    assert.equal(evaluateBool(parseExpr('x is not defined or x.y > 1'), {}), true);
  });
});

describe('expr: truthiness (evaluateBool)', () => {
  const cases: [unknown, boolean][] = [
    [false, false],
    [0, false],
    ['', false],
    [[], false],
    [{}, false],
    [null, false],
    [true, true],
    [1, true],
    ['false', true], // a non-empty string is true, as in Jinja; use `| bool` to read yes/no strings
    [[0], true],
    [{ k: 0 }, true],
  ];
  for (const [value, want] of cases) {
    it(`${JSON.stringify(value)} is ${want}`, () => assert.equal(evaluateBool(parseExpr('v'), { v: value }), want));
  }
});

describe('expr: syntax errors name the column and what was expected', () => {
  const cases: [string, number, RegExp][] = [
    ['a and', 6, /expected a value/],
    ['a ==', 5, /expected a value/],
    ['(a and b', 9, /expected '\)' to close the '\(' at column 1/],
    ['[1, 2', 6, /expected '\]' to close the list opened at column 1/],
    ["'abc", 1, /unterminated string/],
    ['a = 1', 3, /'=' is not a comparison; use '=='/],
    ['a && b', 3, /use 'and'/],
    ['a || b', 3, /use 'or'/],
    ['!a', 1, /use 'not'/],
    ['a b', 3, /expected an operator .* found 'b'/],
    ['x is', 5, /expected a test name after 'is'/],
    ['x | ', 5, /expected a filter name after '\|'/],
    ['x | nosuch', 5, /unknown filter 'nosuch'/],
    ['x | lenght', 5, /did you mean 'length'/],
    ['x is defind', 6, /did you mean 'defined'/],
    ['x | length(1)', 5, /takes 0 arguments, got 1/],
    ["x is version()", 6, /takes 1 to 4 arguments, got 0/],
    ['x.', 3, /expected a name after '\.'/],
    ['', 1, /empty condition/],
    ['   ', 4, /empty condition/],
    ['{{ a }} == {{ b }}', 6, /already an expression/],
    ['a == {{ b }}', 6, /already an expression/],
    ['{{ a and }}', 10, /expected a value/],
    ['1abc', 2, /a number cannot be followed by 'a'/],
    ['x[1:2:3:4]', 8, /a slice has at most three parts/],
    ["x | default(valu='a')", 13, /keyword argument 'valu' is not a parameter of the filter 'default' \(it takes: default_value, boolean\)/],
    ['and', 1, /keyword 'and'/],
    ['a #', 3, /unexpected character '#'/],
  ];
  for (const [src, col, re] of cases) {
    it(`${JSON.stringify(src)} -> column ${col}`, () => {
      assert.throws(
        () => parseExpr(src),
        (e: unknown) => {
          assert.ok(e instanceof ExprSyntaxError, `expected ExprSyntaxError, got ${String(e)}`);
          assert.equal(e.col, col, e.message);
          assert.match(e.reason, re);
          return true;
        },
      );
    });
  }
});

describe('expr: evaluation errors', () => {
  const cases: [string, new (...a: never[]) => Error, RegExp][] = [
    ['missing', UndefinedVariableError, /'missing' is undefined/],
    ['missing == 1', UndefinedVariableError, /'missing' is undefined/],
    ['ok_result.nope', UndefinedVariableError, /'ok_result\.nope' is undefined \('ok_result' has no key 'nope'\)/],
    ['hostvars.web9.x > 1', UndefinedVariableError, /'hostvars\.web9\.x' is undefined \('hostvars' has no key 'web9'\)/],
    ['nothing.x', UndefinedVariableError, /'nothing' is none/],
    ['list[5]', UndefinedVariableError, /out of range/],
    ['not missing', UndefinedVariableError, /'missing'/],
    ['missing is none', UndefinedVariableError, /'missing'/],
    ['[] | first', UndefinedVariableError, /empty/],
    ['missing | mandatory', UndefinedVariableError, /mandatory variable 'missing'/],
    ['inventory_hostnam', UndefinedVariableError, /did you mean 'inventory_hostname'/],
    ['s > 10', ExprEvalError, /cannot compare string with number.*\| int/],
    ['n | length', ExprEvalError, /'length' filter needs a string, list or mapping, got number/],
    ['n is failed', ExprEvalError, /'failed' test needs a registered result/],
    ['n / 0', ExprEvalError, /division by zero/],
    ["'x' * 100000000", ExprEvalError, /'\*' would build 100000000 items \(at most 10000000\)/],
    ["'x' * 'y'", ExprEvalError, /'\*' needs numbers, got string/],
    ['1 in n', ExprEvalError, /'in' needs a list, mapping or string/],
    ["x is version('1', 'bogus')", UndefinedVariableError, /'x'/],
    ["s is version('1', 'bogus')", ExprEvalError, /operator must be one of/],
  ];
  for (const [src, cls, re] of cases) {
    it(`${src} -> ${cls.name}`, () => {
      assert.throws(
        () => evaluate(parseExpr(src), vars),
        (e: unknown) => {
          assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
          assert.match((e as Error).message, re);
          return true;
        },
      );
    });
  }
  it('UndefinedVariableError names the variable', () => {
    assert.throws(
      () => evaluate(parseExpr('hostvars[inventory_hostname].guest.disk'), vars),
      (e: unknown) => e instanceof UndefinedVariableError && e.variable === 'hostvars[inventory_hostname].guest.disk',
    );
  });
});

describe('expr: attempts to run code or reach prototypes fail safely', () => {
  // Each must either fail to parse or fail as an undefined variable / eval error: never run, never return a function.
  const hostile = [
    "constructor.constructor('return process')()",
    "''.constructor.constructor('return process')()",
    '__proto__',
    'x.constructor',
    "''.constructor",
    'list.constructor',
    'map.constructor',
    'map.__proto__',
    "map['__proto__']",
    "map['constructor']['constructor']",
    'map.prototype',
    "hostvars['__proto__'].polluted",
    'list.map',
    'list.length',
    "ok_result.stdout.length",
    'ok_result.hasOwnProperty',
    'toString',
    'valueOf',
    'map.toString',
    '`${process.exit(1)}`',
    "'${process}'.constructor",
    'process.exit(1)',
    'require',
    "lookup('pipe', 'id')",
    'globalThis',
    'this',
    'ok_result.stdout.split(" ")',
    "{'__proto__': {'polluted': 1}}.polluted",
    '(1).constructor',
    '[].constructor',
    'list.__defineGetter__',
  ];
  for (const src of hostile) {
    it(`${src}`, () => {
      let outcome: unknown;
      try {
        outcome = evaluate(parseExpr(src), vars);
      } catch (e) {
        assert.ok(
          e instanceof ExprSyntaxError || e instanceof ExprEvalError,
          `must fail with an expression error, got ${(e as Error)?.constructor?.name}: ${String(e)}`,
        );
        return;
      }
      // A literal such as the template-literal-looking string may evaluate, but only to plain data.
      assert.notEqual(typeof outcome, 'function');
      assert.ok(outcome === null || ['string', 'number', 'boolean', 'object'].includes(typeof outcome));
    });
  }
  it('a dict literal with a __proto__ key does not pollute Object.prototype', () => {
    evaluate(parseExpr("{'__proto__': {'polluted': 1}}"), vars);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(evaluateBool(parseExpr("{'__proto__': 1} is defined"), vars), true);
  });
  it('own __proto__ / constructor keys in loaded data are not visible either', () => {
    const v = { data: JSON.parse('{"__proto__": {"x": 1}, "constructor": 2, "ok": 3}') as unknown };
    assert.equal(evaluate(parseExpr('data.ok'), v), 3);
    assert.equal(evaluateBool(parseExpr('data.__proto__ is defined'), v), false);
    assert.equal(evaluateBool(parseExpr("data['constructor'] is defined"), v), false);
  });
  it('getters are never invoked and class instances are opaque', () => {
    let called = false;
    const withGetter = {};
    Object.defineProperty(withGetter, 'g', { enumerable: true, get: () => ((called = true), 1) });
    class Secretive {
      inner = 1;
    }
    const v = { o: withGetter, inst: new Secretive(), fn: () => 1 };
    assert.equal(evaluateBool(parseExpr('o.g is defined'), v), false);
    assert.equal(evaluateBool(parseExpr('o is defined'), v), true);
    assert.equal(evaluateBool(parseExpr('inst.inner is defined'), v), false);
    assert.equal(evaluateBool(parseExpr('fn.call is defined'), v), false);
    assert.equal(evaluateBool(parseExpr('fn.name is defined'), v), false);
    assert.equal(called, false);
  });
  it('inherited variables (Object.prototype members) are not variables', () => {
    for (const name of ['toString', 'hasOwnProperty', 'constructor', '__proto__', 'valueOf']) {
      assert.equal(evaluateBool(parseExpr(`${name} is defined`), {}), false, name);
    }
  });
});

describe('expr: bounded input', () => {
  it('refuses very long input with a clear message', () => {
    const src = 'a or '.repeat(5000) + 'a';
    assert.throws(() => parseExpr(src), (e: unknown) => e instanceof ExprSyntaxError && /too long/.test(e.message) && e.message.length < 400);
  });
  const deep: [string, string][] = [
    ['parentheses', '('.repeat(3000) + '1' + ')'.repeat(3000)],
    ['not not …', 'not '.repeat(2000) + 'a'],
    ['unary minus', '-'.repeat(5000) + '1'],
    ['lists', '['.repeat(3000) + ']'.repeat(3000)],
    ['operator chain', Array(2000).fill('1').join(' + ')],
    ['filter chain', 'a' + ' | lower'.repeat(1000)],
    ['attribute chain', 'a' + '.b'.repeat(3000)],
    ['conditional chain', "1 if a else ".repeat(800) + '2'],
  ];
  for (const [what, src] of deep) {
    it(`deep nesting (${what}) is refused without a stack overflow`, () => {
      assert.throws(
        () => parseExpr(src),
        (e: unknown) => e instanceof ExprSyntaxError && /nested too deeply/.test(e.message),
      );
    });
  }
  it(`nesting up to the limit still works`, () => {
    const n = MAX_EXPR_DEPTH - 2;
    assert.equal(evaluate(parseExpr('('.repeat(n) + '1' + ')'.repeat(n)), {}), 1);
    assert.equal(evaluate(parseExpr(Array(60).fill('1').join(' + ')), {}), 60);
  });
});

describe('expr: parseExprAt and parseCondition (file:line from the caller)', () => {
  it('parseExprAt turns a syntax error into a ValidationError at file:line with the column in the expression', () => {
    assert.throws(
      () => parseExprAt('result.rc = 0', { file: 'site.yml', line: 12 }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.problems[0]!.loc, { file: 'site.yml', line: 12, col: 11 });
        assert.match(e.message, /^site\.yml:12:11: bad condition: '=' is not a comparison/);
        assert.match(e.message, /result\.rc = 0\n {16}\^/);
        return true;
      },
    );
  });
  it('parseExprAt returns the expression when it parses', () => {
    assert.equal(formatExpr(parseExprAt('a and b', { file: 'f', line: 1 })), 'a and b');
  });
  it('a when: list means AND, and every bad item is reported with its own line', () => {
    const doc = parseYaml(['when:', '  - a is defined', '  - b ==', '  - c and', '  - true'].join('\n'), 'play.yml') as Record<string, unknown>;
    assert.throws(
      () => parseCondition(doc.when, locOf(doc, 'when')),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(
          e.problems.map((p) => p.loc?.line),
          [3, 4],
        );
        return true;
      },
    );
    const good = parseYaml(['when:', '  - a is defined', '  - a > 1', '  - true'].join('\n'), 'play.yml') as Record<string, unknown>;
    const expr = parseCondition(good.when, locOf(good, 'when'));
    assert.equal(evaluateBool(expr, { a: 2 }), true);
    assert.equal(evaluateBool(expr, { a: 1 }), false);
    assert.equal(evaluateBool(expr, {}), false);
  });
  it('a YAML boolean is a condition; other types are refused with the location', () => {
    assert.equal(evaluateBool(parseCondition(false, undefined), {}), false);
    assert.equal(evaluateBool(parseCondition([], undefined), {}), true);
    assert.throws(
      () => parseCondition({ a: 1 }, { file: 'p.yml', line: 3 }),
      (e: unknown) => e instanceof ValidationError && /^p\.yml:3: a condition must be a string/.test(e.message),
    );
  });
});
