// Bounded YAML input: each case is text → the one problem it must raise (line and message), or the
// value it must load as. Covers "billion laughs", recursive and dangling aliases, deep nesting,
// several documents, and the size limit of input files (also through a pipe, which has no size).
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError, type Problem } from '../../runner/errors.js';
import { loadYamlFile, MAX_ALIAS_VALUES, MAX_INPUT_BYTES, MAX_NESTING, parseYaml, readInputFile } from '../../runner/yaml-source.js';

function problemsOf(f: () => unknown): Problem[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems;
    throw e;
  }
  return assert.fail('loaded without problems');
}

/** Nine lists of nine aliases of the list before: 9^levels values from a few hundred bytes. */
function laughs(levels: number): string {
  const names = 'abcdefghijklmnop';
  const lines = [`a: &a [${Array(9).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < levels; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

describe('YAML input bounds', function () {
  const refused: { name: string; text: string; line: number; message: RegExp }[] = [
    { name: 'a billion laughs', text: laughs(9), line: 9, message: /aliases would add [\d,]+ values to this file \(the limit is 1,000,000\); '\*h' here alone repeats 48,427,561/ },
    { name: 'an alias inside its own anchor (a list)', text: 'a: &a [1, *a]\n', line: 1, message: /alias '\*a' is inside the value its anchor '&a' names/ },
    { name: 'an alias inside its own anchor (nested mapping)', text: 'x: 1\na: &a\n  b:\n    c: [*a]\n', line: 4, message: /recursive alias/ },
    { name: 'an alias to no anchor', text: 'a: *nope\nb: &nope 1\n', line: 1, message: /alias '\*nope' names no anchor before it/ },
    { name: 'nesting past the limit', text: `a: ${'['.repeat(MAX_NESTING + 5)}${']'.repeat(MAX_NESTING + 5)}\n`, line: 1, message: /nest more than 200 levels deep/ },
    { name: 'nesting past the limit through an alias', text: `deep: &d ${'['.repeat(150)}${']'.repeat(150)}\nx: ${'['.repeat(100)}*d${']'.repeat(100)}\n`, line: 2, message: /nest more than 200 levels/ },
    // Whether the parser's own stack gives out first depends on the stack left to it: either way, refused.
    { name: 'nesting that may overflow the parser itself', text: `a: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`, line: 1, message: /nest (too deeply to parse|more than 200 levels deep)/ },
    { name: 'a second document', text: '- hosts: all\n  tasks: []\n---\n- hosts: web\n  tasks: []\n', line: 3, message: /a second YAML document starts here; ferry reads one document per file \(2 found\)/ },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}, naming the line`, function () {
      const problems = problemsOf(() => parseYaml(c.text, 'in.yaml'));
      assert.equal(problems.length, 1, problems.map((p) => p.message).join('\n'));
      assert.equal(problems[0]!.loc?.file, 'in.yaml');
      assert.equal(problems[0]!.loc?.line, c.line);
      assert.match(problems[0]!.message, c.message);
      assert.ok(problems[0]!.hint);
    });
  }

  const loaded: { name: string; text: string; value: unknown }[] = [
    { name: 'aliases below the limit', text: laughs(5), value: undefined },
    { name: 'a trailing "---" and a comment-only document', text: 'a: 1\n---\n# nothing more\n', value: { a: 1 } },
    { name: 'a merge key used many times', text: `d: &d {x: 1}\nl:\n${Array.from({ length: 500 }, (_, i) => `  - {<<: *d, n: ${i}}`).join('\n')}\n`, value: undefined },
    { name: 'an anchor redefined: the alias takes the last one before it', text: 'a: &x 1\nb: *x\nc: &x 2\nd: *x\n', value: { a: 1, b: 1, c: 2, d: 2 } },
  ];
  for (const c of loaded) {
    it(`loads ${c.name}`, function () {
      const v = parseYaml(c.text, 'in.yaml');
      if (c.value !== undefined) assert.deepEqual(v, c.value);
      else assert.ok(v && typeof v === 'object');
    });
  }

  it('expands aliases to equal values that are separate objects', function () {
    const v = parseYaml('a: &a {x: [1]}\nb: *a\n', 'in.yaml') as { a: { x: number[] }; b: { x: number[] } };
    assert.deepEqual(v.b, { x: [1] });
    assert.notEqual(v.a, v.b);
    assert.ok(MAX_ALIAS_VALUES > 9 ** 6);
  });

  describe('file size', function () {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'ferry-yaml-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses a file over the limit with its size and the limit, before parsing it', function () {
      const f = join(dir, 'big.yaml');
      writeFileSync(f, '#'.repeat(MAX_INPUT_BYTES + 1));
      const [p] = problemsOf(() => loadYamlFile(f, 'big.yaml'));
      assert.deepEqual(p!.loc, { file: 'big.yaml', line: 1 });
      assert.match(p!.message, /^the file is 10\.0 MiB, over the 10\.0 MiB ferry reads$/);
    });

    it('reads a file of exactly the limit', function () {
      const f = join(dir, 'edge.yaml');
      writeFileSync(f, 'a: 1\n' + '#'.repeat(MAX_INPUT_BYTES - 5));
      assert.equal(readInputFile(f).length, MAX_INPUT_BYTES);
    });

    it('stops reading a pipe at the limit', function () {
      // A FIFO has no size to look at first: the reader must stop by itself.
      const fifo = join(dir, 'fifo');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      const writer = spawn('head', ['-c', String(MAX_INPUT_BYTES + 4096), '/dev/zero'], { stdio: ['ignore', openSync(fifo, 'r+'), 'ignore'] });
      try {
        const [p] = problemsOf(() => readInputFile(fifo, 'fifo', 'inventory'));
        assert.match(p!.message, /^the inventory is over the 10\.0 MiB ferry reads$/);
      } finally {
        writer.kill();
      }
    });

    it('names a directory or a missing file as such', function () {
      assert.match(problemsOf(() => readInputFile(dir, 'd'))[0]!.message, /it is a directory/);
      assert.match(problemsOf(() => readInputFile(join(dir, 'none.yaml'), 'none.yaml'))[0]!.message, /cannot read file: ENOENT/);
    });
  });
});
