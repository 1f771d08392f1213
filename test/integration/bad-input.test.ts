// The bad-input corpus (test/fixtures/bad-input/*.yaml): every case is an inventory, a playbook,
// other files and a command line, run through the built CLI (`node dist/app/cli.js`) in a
// directory of its own. Each must exit with its code (4 bad input, 5 bad command line), print each
// expected message at its file:line, never an internal error or a stack, and contact no host: the
// inventory's hosts all point at a counting TCP listener (test/helpers/trap.ts) that must stay at 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { startTrap } from '../helpers/trap.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/app/cli.js');
const CORPUS = join(ROOT, 'test/fixtures/bad-input');
// Node starts in about half a second: a small pool keeps the corpus to a few dozen seconds.
const POOL = Math.min(4, Math.max(2, availableParallelism()));
const PORT = '@TRAP_PORT@';

/**
 * A file's text, or text made at run time: `repeat` written after `head` until the file has `bytes`
 * bytes, or `parts`, each [text, how many times] (deep nesting: [["[", 300], ["]", 300]]).
 */
type Content = string | { head?: string; repeat: string; bytes: number } | { parts: [string, number][] };

/** One expected problem: a fragment of its message, where it is (file:line, absent for a bad command line), a fragment of its hint. */
interface Expect {
  at?: string;
  msg: string;
  hint?: string;
}

/** One case of the corpus. */
interface Case {
  name: string;
  /** pb.yaml; `inventory` is inv.yaml (default: DEFAULT_INVENTORY); `files` are more files, by path. */
  playbook?: Content;
  inventory?: Content;
  files?: Record<string, Content>;
  /** The whole command line after `ferry` (default: run pb.yaml -i inv.yaml), or words added to the default. */
  args?: string[];
  extra?: string[];
  exit: 4 | 5;
  expect: Expect[];
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  contacts: number;
}

// Every host of the default inventory is the trap; `ferry_connection: ssh` so that none runs locally.
const DEFAULT_INVENTORY = `all:
  vars:
    ansible_host: 127.0.0.1
    ansible_port: ${PORT}
    ferry_connection: ssh
  children:
    hypervisors:
      hosts:
        hv1:
        hv2:
    web:
      hosts:
        web1:
        web2:
`;
const DEFAULT_PLAYBOOK = '- hosts: all\n  tasks:\n    - ping:\n';

function text(c: Content, port: number): string {
  if (typeof c === 'string') return c.replaceAll(PORT, String(port));
  if ('parts' in c) return c.parts.map(([t, n]) => t.repeat(n)).join('');
  let out = c.head ?? '';
  const n = Math.ceil((c.bytes - out.length) / c.repeat.length);
  out += c.repeat.repeat(Math.max(0, n));
  return out;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function loadCorpus(): Promise<{ file: string; c: Case }[]> {
  const out: { file: string; c: Case }[] = [];
  for (const f of (await readdir(CORPUS)).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const c of parse(await readFile(join(CORPUS, f), 'utf8')) as Case[]) out.push({ file: f, c });
  }
  return out;
}

function runCli(args: string[], cwd: string): Promise<Omit<Outcome, 'contacts'>> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', HOME: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Runs one case in a directory of its own, against a trap of its own. */
async function runCase(c: Case, base: string, i: number): Promise<Outcome> {
  const dir = join(base, `case-${i}`);
  await mkdir(dir, { recursive: true });
  const trap = await startTrap();
  try {
    const files: Record<string, Content> = { 'inv.yaml': c.inventory ?? DEFAULT_INVENTORY, 'pb.yaml': c.playbook ?? DEFAULT_PLAYBOOK, ...c.files };
    for (const [name, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), text(content, trap.port));
    }
    const args = c.args ?? ['run', 'pb.yaml', '-i', 'inv.yaml', ...(c.extra ?? [])];
    const r = await runCli(args, dir);
    return { ...r, contacts: (await trap.contacts()) };
  } finally {
    await trap.close();
  }
}

// FERRY_BAD_INPUT=text runs only the cases whose file or name contains it (while working on one).
const only = process.env.FERRY_BAD_INPUT;
const corpus = (await loadCorpus()).filter(({ file, c }) => !only || `${file}: ${c.name}`.includes(only));

describe('bad-input corpus (test/fixtures/bad-input) through the CLI @integration', function () {
  this.timeout(900_000);
  let base: string;
  const outcomes = new Map<number, Outcome>();

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'ferry-bad-input-'));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < corpus.length) {
        const i = next++;
        outcomes.set(i, await runCase(corpus[i]!.c, base, i));
      }
    };
    await Promise.all(Array.from({ length: POOL }, worker));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('holds at least 100 cases, each named once, each exit-4 case naming a file:line', () => {
    if (!only) assert.ok(corpus.length >= 100, `${corpus.length} cases`);
    const names = corpus.map(({ file, c }) => `${file}: ${c.name}`);
    assert.equal(new Set(names).size, names.length, 'case names repeat');
    for (const { file, c } of corpus) {
      assert.ok(c.exit === 4 || c.exit === 5, `${file}: ${c.name}: exit ${c.exit}`);
      assert.ok(c.expect.length > 0, `${file}: ${c.name}: no expectation`);
      if (c.exit === 4) assert.ok(c.expect.some((e) => e.at), `${file}: ${c.name}: no file:line expected`);
      for (const e of c.expect) if (e.at) assert.match(e.at, /:\d+$/, `${file}: ${c.name}: '${e.at}' is not file:line`);
    }
  });

  corpus.forEach(({ file, c }, i) => {
    it(`${file}: ${c.name} → exit ${c.exit}, no host contacted`, () => {
      const r = outcomes.get(i)!;
      const out = `--- stderr\n${r.stderr}--- stdout\n${r.stdout}`;
      assert.equal(r.code, c.exit, out);
      assert.doesNotMatch(r.stderr, /internal error|^\s+at .+:\d+:\d+\)?$/m, `a crash, not a message:\n${out}`);
      if (c.exit === 4) assert.match(r.stderr, /bad input, nothing was run/, out);
      for (const e of c.expect) {
        // `at` is file:line; the output may add a column.
        const line = new RegExp(`${e.at ? `(^|\\s)${escape(e.at)}(:\\d+)?: ` : ''}.*${escape(e.msg)}`, 'm');
        assert.match(r.stderr, line, `expected ${e.at ?? ''} ${e.msg}:\n${out}`);
        if (e.hint) assert.ok(r.stderr.includes(e.hint), `expected the hint ${e.hint}:\n${out}`);
      }
      assert.equal(r.contacts, 0, `a host was contacted ${r.contacts} time(s):\n${out}`);
    });
  });
});
