// What the built CLI loads to start (issue 15 §4): `--version` must not load commander, the engine,
// ssh2, listr2, handlebars, zod or any task module (nor does a run without a .hbs template load
// handlebars); `--help` and `doc` must not load the engine's stack or the modules either (doc reads
// the doc index the build writes). Not timed (bench/startup.ts
// times it): a Node loader hook records every module the process loads, and the test reads that list.
// The built cli.js is a bundle (app/cli-bundle-write.ts): a bundle file it loads counts as loading
// every source the build's bundle map says that file holds, under the path tsc gives it in dist/.
// And the build's doc index must say what the modules' own docs say, so it cannot drift.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { quote as shellQuote } from '../../runner/command.js';
import { moduleDocs } from '../../runner/doc.js';
import { formatModuleList } from '../../runner/doc-list.js';
import { builtinModules } from '../../tasks/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
// The built CLI (`npm test` builds first): the ES module entry, and the package's bin before it.
const CLI = join(ROOT, 'dist/app/cli.js');
const BIN = join(ROOT, 'dist/app/bin.cjs');

// Registered with --import: appends the URL of every module loaded (ESM, and CommonJS packages
// imported from ESM) to the file named in its data; REGISTER also wraps require(), so that a package
// loaded lazily by require() (runner/lazy-require.ts) is listed too.
const HOOKS = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) { appendFileSync(log, url + '\\n'); return next(url, context); }
`;
const REGISTER = (hooks: string, log: string): string => `import { appendFileSync } from 'node:fs';
import Module, { isBuiltin, register } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(new URL(`file://${hooks}`).href)}, { data: { log: ${JSON.stringify(log)} } });
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (!isBuiltin(request)) appendFileSync(${JSON.stringify(log)}, pathToFileURL(Module._resolveFilename(request, parent, isMain)).href + '\\n');
  return load.apply(this, arguments);
};
`;

/** What the heavy stack is made of: a start that loads any of these loaded too much. */
const HEAVY: Record<string, RegExp> = {
  ssh2: /\/node_modules\/ssh2\//,
  listr2: /\/node_modules\/listr2\//,
  handlebars: /\/node_modules\/handlebars\//,
  zod: /\/node_modules\/zod\//,
  yaml: /\/node_modules\/yaml\//,
  'the engine': /\/dist\/runner\/engine\.js$/,
  'a task module': /\/dist\/tasks\/.*\.js$/,
};

describe('ferry CLI start-up: what it loads @integration', function () {
  this.timeout(60_000);
  let dir: string;
  let n = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-startup-'));
    await writeFile(join(dir, 'hooks.mjs'), HOOKS);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs the built CLI with the hook; returns its output and the modules it loaded. */
  async function traced(args: string[], o: { tty?: boolean; script?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string; loaded: string[]; files: string[] }> {
    const log = join(dir, `loaded-${++n}.txt`);
    const register = join(dir, `register-${n}.mjs`);
    await writeFile(register, REGISTER(join(dir, 'hooks.mjs'), log));
    await writeFile(log, '');
    const argv = [process.execPath, '--import', register, o.script ?? CLI, ...args];
    const env = { ...process.env, NO_COLOR: '1' };
    const r = o.tty
      ? spawnSync('script', ['-qec', `stty cols 100 rows 30; ${argv.map(shellQuote).join(' ')}`, '/dev/null'], { cwd: dir, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawnSync(argv[0]!, argv.slice(1), { cwd: dir, encoding: 'utf8', env });
    const files = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const loaded = unbundled(files, await bundleMap());
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, loaded, files };
  }

  let map: Map<string, string[]> | undefined;
  /** The built bundle's files (URLs) and the sources each holds (URLs, as tsc builds them in dist/). */
  async function bundleMap(): Promise<Map<string, string[]>> {
    // the map of the built CLI: dist/app/cli-bundle-map.json, next to the tsc-built cli-bundle.js
    const file = new URL('cli-bundle-map.json', pathToFileURL(join(ROOT, 'dist/app/')));
    const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, string[]>;
    const asBuilt = (src: string): string => {
      const abs = resolve(ROOT, src);
      const rel = relative(ROOT, abs);
      const fromSources = !rel.startsWith('..') && !rel.split(sep).includes('node_modules') && /\.c?ts$/.test(rel);
      return pathToFileURL(fromSources ? join(ROOT, 'dist', rel.replace(/\.ts$/, '.js').replace(/\.cts$/, '.cjs')) : abs).href;
    };
    return (map ??= new Map(Object.entries(raw).map(([out, ins]) => [pathToFileURL(join(ROOT, out)).href, ins.map(asBuilt)])));
  }

  /** The modules loaded, a bundle file replaced by the sources it holds (and kept itself). */
  function unbundled(loaded: string[], m: Map<string, string[]>): string[] {
    return loaded.flatMap((u) => [u, ...(m.get(u) ?? [])]);
  }

  function heavyIn(loaded: string[]): string[] {
    return Object.entries(HEAVY)
      .filter(([, re]) => loaded.some((u) => re.test(u)))
      .map(([name]) => name);
  }

  it('runs a playbook check with the whole stack loaded (the hook sees what is loaded)', async () => {
    const pb = join(dir, 'pb.yaml');
    await writeFile(pb, '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: { msg: hi }\n');
    const r = await traced(['run', pb, '--syntax-check']);
    assert.equal(r.code, 0, r.stderr);
    // listr2 draws the terminal view only, handlebars renders .hbs templates only: the next test sees them loaded there
    assert.deepEqual(heavyIn(r.loaded), Object.keys(HEAVY).filter((k) => k !== 'listr2' && k !== 'handlebars'));
    // from the bundle: no file tsc built for the engine or the modules, and no package but ssh2
    // (a native binding) and what loads lazily through require (none here) is read on its own
    const own = r.files.filter((u) => /\/dist\/(runner|tasks)\//.test(u) || (/\/node_modules\//.test(u) && !/\/node_modules\/(ssh2|asn1|bcrypt-pbkdf|tweetnacl|safer-buffer|cpu-features|buildcheck|nan)\//.test(u)));
    assert.deepEqual(own, [], 'loaded outside the bundle');
  });

  it('loads listr2 for the terminal view only, the diff library only to show a diff, the XML parser only to read XML, handlebars only for a .hbs template', async () => {
    const pb = join(dir, 'pb-run.yaml');
    await writeFile(pb, '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: { msg: hi }\n');
    const diffLib = /\/node_modules\/diff\//;
    const plain = await traced(['run', pb]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /ok: \[localhost\]: hi/);
    assert.deepEqual(heavyIn(plain.loaded), Object.keys(HEAVY).filter((k) => k !== 'listr2' && k !== 'handlebars'));
    assert.ok(!plain.loaded.some((u) => diffLib.test(u)), 'the diff library was loaded');
    assert.ok(!plain.loaded.some((u) => /\/node_modules\/fast-xml-parser\//.test(u)), 'the XML parser was loaded');
    // the built CLI loads the diff library when it has a diff to show (a copy that would change a file)
    const target = join(dir, 'diff-target.txt');
    await writeFile(target, 'old\n');
    const copy = join(dir, 'pb-diff.yaml');
    await writeFile(copy, `- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: { content: "new\\n", dest: ${JSON.stringify(target)} }\n`);
    const diff = await traced(['run', copy, '--check', '--diff']);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /@@ -1,?1? \+1,?1? @@\n-old\n\+new/);
    assert.ok(diff.loaded.some((u) => diffLib.test(u)), 'the diff library was not loaded');
    // a .hbs template is rendered by handlebars, which that run loads
    await writeFile(join(dir, 'motd.txt.hbs'), 'host {{inventory_hostname}} says {{upper word}}\n');
    const hbsDest = join(dir, 'motd.txt');
    const hbs = join(dir, 'pb-hbs.yaml');
    await writeFile(hbs, `- hosts: localhost\n  gather_facts: false\n  vars: { word: hi }\n  tasks:\n    - template: { src: motd.txt.hbs, dest: ${JSON.stringify(hbsDest)} }\n`);
    const rendered = await traced(['run', hbs]);
    assert.equal(rendered.code, 0, rendered.stderr);
    assert.equal(await readFile(hbsDest, 'utf8'), 'host localhost says HI\n');
    assert.deepEqual(heavyIn(rendered.loaded), Object.keys(HEAVY).filter((k) => k !== 'listr2'));
    // a terminal with a size (script(1) gives the run a pty; stty gives it columns): the listr2 view
    const tty = await traced(['run', pb], { tty: true });
    assert.equal(tty.code, 0, tty.stdout);
    assert.deepEqual(heavyIn(tty.loaded), Object.keys(HEAVY).filter((k) => k !== 'handlebars'));
  });

  /** The task modules (tasks/*.ts, one file each, as dist/tasks/NAME.js) among what was loaded. */
  function taskModulesIn(loaded: string[]): string[] {
    const names = new Set<string>();
    for (const u of loaded) {
      const m = /\/dist\/tasks\/([a-z-]+)\.js$/.exec(u);
      if (m && m[1] !== 'catalog' && m[1] !== 'fact-tools' && m[1] !== 'index') names.add(m[1]!);
    }
    return [...names].sort();
  }

  it('loads only the modules a run uses: a playbook of command and debug, include_tasks of a file using stat, ferry exec -m ping', async () => {
    const pb = join(dir, 'pb-lazy.yaml');
    await writeFile(join(dir, 'included.yaml'), '- stat: { path: / }\n');
    await writeFile(pb, '- hosts: localhost\n  gather_facts: false\n  vars: { f: included.yaml }\n  tasks:\n    - command: "true"\n    - debug: { msg: hi }\n    - include_tasks: "{{ f }}"\n');
    const check = await traced(['run', pb, '--syntax-check']);
    assert.equal(check.code, 0, check.stderr);
    // the include's file is named by a template: it is read (and stat loaded) when the run reaches it
    assert.deepEqual(taskModulesIn(check.loaded), ['command', 'debug']);
    const run = await traced(['run', pb]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(taskModulesIn(run.loaded), ['command', 'debug', 'stat']);
    assert.ok(!run.loaded.some((u) => /\/dist\/tasks\/(grub|xen-import|index)\.js$/.test(u)), 'grub, xen_import or the eager module list was loaded');
    const exec = await traced(['exec', 'localhost', '-m', 'ping']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.deepEqual(taskModulesIn(exec.loaded), ['ping']);
  });

  it('load-time errors need no module but those named: an unknown module gets its suggestion, bad parameters their file:line', async () => {
    const pb = join(dir, 'pb-bad.yaml');
    await writeFile(pb, '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - comand: "true"\n    - copy: { dest: /tmp/x, bogus: 1 }\n');
    const r = await traced(['run', pb]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /pb-bad\.yaml:4:7: unknown module or keyword 'comand'\n +hint: did you mean 'command'\? 'ferry doc' lists the modules/);
    assert.match(r.stderr, /pb-bad\.yaml:5:\d+: module 'copy' has no parameter 'bogus'/);
    assert.deepEqual(taskModulesIn(r.loaded), ['copy']);
  });

  it('--version and -V load no more than the entry: no commander, no engine, no module', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: { ferry: string } };
    assert.equal(join(ROOT, pkg.bin.ferry), BIN);
    // the bin (CommonJS) answers them without loading the ES module entry; anything else runs that entry.
    // It is one file: the build inlines what it imports (app/version.cts), a relative require() costs a start ~2.5 ms
    assert.doesNotMatch(await readFile(BIN, 'utf8'), /\brequire\(["']\.{1,2}\//);
    for (const flag of ['--version', '-V']) {
      const r = await traced([flag], { script: BIN });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
      assert.ok(!r.loaded.some((u) => /\/dist\/app\/cli[^/]*\.js$/.test(u) || u.includes('/node_modules/')), r.loaded.join('\n'));
    }
    const doc = await traced(['doc', 'command'], { script: BIN });
    assert.equal(doc.code, 0, doc.stderr);
    assert.match(doc.stdout, /^command — /);
    assert.ok(doc.loaded.some((u) => u.endsWith('/dist/app/cli.js')), doc.loaded.join('\n'));
    const bad = await traced(['--bogus'], { script: BIN });
    assert.equal(bad.code, 5, bad.stderr);
    for (const flag of ['--version', '-V']) {
      const r = await traced([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
      assert.deepEqual(heavyIn(r.loaded), [], r.loaded.join('\n'));
      assert.ok(!r.loaded.some((u) => u.includes('/node_modules/commander/')), 'commander was loaded');
      // the entry alone: not even the rest of the command line (cli-main.ts, its chunks); esbuild
      // has every entry that imports a second source (app/version.cts) import its runtime helpers'
      // chunk too, used or not (evanw/esbuild#1892): a chunk that holds no source
      const m = await bundleMap();
      assert.deepEqual(r.files.filter((u) => u.includes('/dist/') && m.get(u)?.length !== 0), [pathToFileURL(CLI).href]);
      assert.ok(r.loaded.includes(pathToFileURL(join(ROOT, 'dist/app/version.cjs')).href), 'the version came from app/version.cts');
    }
  });

  it('--help, doc and doc MODULE load commander but not the engine, ssh2, listr2, zod or the modules', async () => {
    for (const args of [['--help'], ['doc'], ['doc', 'copy'], ['run', '--help']]) {
      const r = await traced(args);
      assert.equal(r.code, 0, r.stderr);
      assert.notEqual(r.stdout, '');
      assert.deepEqual(heavyIn(r.loaded), [], `ferry ${args.join(' ')} loaded:\n${r.loaded.join('\n')}`);
    }
  });

  it('the build\'s doc index is what the modules document: `ferry doc` and `ferry doc NAME` print the same', async () => {
    const live = moduleDocs(builtinModules());
    const index = JSON.parse(await readFile(join(ROOT, 'dist/app/module-docs.json'), 'utf8')) as unknown;
    assert.deepEqual(index, live, 'dist/app/module-docs.json differs from the modules: run npm run build');
    const list = await traced(['doc']);
    assert.equal(list.stdout, formatModuleList(live) + '\n');
    for (const name of ['copy', 'lvm', 'xen_import']) {
      const one = await traced(['doc', name]);
      assert.equal(one.stdout, live.find((d) => d.name === name)!.text + '\n');
    }
  });
});
