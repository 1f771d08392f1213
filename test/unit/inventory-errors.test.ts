// Validation: every problem of every file is reported at once, each with file:line and a hint.
import { strict as assert } from 'node:assert';
import { ValidationError, type Problem } from '../../runner/errors.js';
import { loadInventory } from '../../runner/inventory/index.js';

const FIX = 'test/fixtures/inventory/errors';

function problemsOf(path: string | string[]): Problem[] {
  try {
    loadInventory(path);
  } catch (e) {
    if (e instanceof ValidationError) return e.problems;
    throw e;
  }
  assert.fail(`${path} loaded without problems`);
}

// [line, message pattern] per expected problem, in reading order.
function check(problems: Problem[], file: string, want: [number, RegExp][]): void {
  assert.equal(problems.length, want.length, problems.map((p) => `${p.loc?.line}: ${p.message}`).join('\n'));
  want.forEach(([line, re], i) => {
    assert.equal(problems[i].loc?.file, file);
    assert.equal(problems[i].loc?.line, line, problems[i].message);
    assert.match(problems[i].message, re);
    assert.ok(problems[i].hint, `problem ${i} has a hint`);
  });
}

describe('inventory: validation errors', function () {
  it('YAML: reports all problems of one file with file:line', function () {
    const file = `${FIX}/yaml/bad.yml`;
    check(problemsOf(file), file, [
      [4, /unknown key 'host' under group 'web'; only hosts, children and vars/],
      [7, /'hosts' of group 'db' must be a mapping, got a list/],
      [12, /malformed host range: '\[1:\]' in 'app\[1:\]' has no end value/],
      [13, /malformed host range: '\[a-c\]'/],
      [15, /host name 1234 must be a string/],
      [17, /variables of host 'bad-vars' in group 'app' must be a mapping/],
      [18, /unknown key 'varz' under group 'app'/],
      [20, /group 'leaf' must be a mapping/],
    ]);
  });

  it('YAML: suggests the key that was probably meant', function () {
    const [first] = problemsOf(`${FIX}/yaml/bad.yml`);
    assert.match(first.hint ?? '', /did you mean 'hosts'\?/);
  });

  it('INI: reports all problems of one file with file:line', function () {
    const file = `${FIX}/ini/bad.ini`;
    check(problemsOf(file), file, [
      [2, /expected key=value after host 'web1', got 'oops'/],
      [3, /malformed host range: '\[01-03\]'/],
      [4, /cannot split host line: No closing quotation/],
      [6, /section \[web:varz\] has an unknown type 'varz'/],
      [10, /expected key=value in \[web:vars\], got 'novalue'/],
      [12, /invalid section header '\[ not-a-section \]'/],
      [16, /\[prod:children\] names group 'missing', which is not declared/],
      [18, /section \[ghost:vars\] is for a group that is not declared/],
    ]);
  });

  it('vars files: a non-mapping group_vars file and a YAML syntax error in host_vars, both reported', function () {
    const problems = problemsOf(`${FIX}/vars/inventory`);
    assert.deepEqual(
      problems.map((p) => [p.loc?.file, p.loc?.line]),
      [
        [`${FIX}/vars/group_vars/web.yml`, 1],
        [`${FIX}/vars/host_vars/web1`, 1],
      ],
    );
    assert.match(problems[0].message, /a vars file must be a mapping of variable names to values, got a list/);
    assert.match(problems[1].message, /YAML syntax error/);
  });

  it('refuses a group loop (a -> b -> a)', function () {
    const file = `${FIX}/yaml/loop.yml`;
    check(problemsOf(file), file, [[3, /adding group 'b' as a child of 'a' makes a loop/]]);
  });

  it('collects problems across several sources into one error', function () {
    const problems = problemsOf([`${FIX}/yaml/bad.yml`, `${FIX}/ini/bad.ini`]);
    assert.equal(problems.length, 16);
    assert.equal(problems[0].loc?.file, `${FIX}/yaml/bad.yml`);
    assert.equal(problems[15].loc?.file, `${FIX}/ini/bad.ini`);
  });

  it('formats the error message as file:line: message with hints', function () {
    try {
      loadInventory(`${FIX}/ini/bad.ini`);
      assert.fail('expected a ValidationError');
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /^test\/fixtures\/inventory\/errors\/ini\/bad\.ini:2: expected key=value/);
      assert.match(e.message, /\n {4}hint: /);
    }
  });
});
