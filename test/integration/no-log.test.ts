// Secrets never reach an output: `no_log` tasks (items, commands, stdout/stderr, diffs, registered
// values) and every value of a password variable (inventory, play vars through a template,
// vars_files, -e), through the CLI as a user runs it against a real sshd: plain lines, -v, --diff,
// NDJSON on stdout and in a file, listr2 on a pty, the run state, failure messages and check mode.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import { NO_LOG_MESSAGE } from '../../runner/secrets.js';
import { startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';
import { runOnPty } from '../helpers/pty.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/app/cli.js');
// Every secret of the scenario holds this word; nothing else it prints does.
const LEAK = /SECRET/;

function ferry(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function stateText(stateDir: string): Promise<string> {
  const files = await readdir(stateDir);
  assert.ok(files.length > 0, 'no run state was written');
  return (await Promise.all(files.map((f) => readFile(join(stateDir, f), 'utf8')))).join('\n');
}

describe('secrets and no_log in every output @integration', function () {
  this.timeout(120_000);
  let host: SshdHost;
  let dir: string;
  let inv: string;
  let pb: string;

  before(async () => {
    host = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'ferry-nolog-'));
    await chmod(dir, 0o777);
    const plain = parse(await readFile(await writeInventory([host], dir), 'utf8')) as { all: Record<string, unknown> };
    inv = join(dir, 'secret-inv.yaml');
    // An inventory password that no task prints on purpose: it still must not show where it appears.
    await writeFile(inv, stringify({ all: { ...plain.all, vars: { db_password: 'Inv-SECRET-pw' } } }));
    await writeFile(join(dir, 'secret-vars.yaml'), 'svc_pass: VarsFile-SECRET-pw\n');
    const w = join(dir, 'work');
    await mkdir(w);
    await chmod(w, 0o777);
    pb = join(dir, 'secrets.yaml');
    await writeFile(
      pb,
      stringify([
        {
          hosts: 'all',
          vars: { w, vault_like: 'Templated-SECRET-pw', app_password: '{{ vault_like }}' },
          vars_files: ['secret-vars.yaml'],
          tasks: [
            { name: 'loop no_log', shell: 'echo {{ item }}', loop: ['NoLogItem-SECRET-1', 'NoLogItem-SECRET-2'], no_log: true },
            { name: 'loop no_log fails', shell: 'test {{ item }} = x', loop: ['ok-item', 'NoLogLoopFail-SECRET'], no_log: true, ignore_errors: true },
            { name: 'loop label', command: 'true', loop: ['{{ db_password }}'], loop_control: { label: 'user {{ item }}' } },
            { name: 'password fails', shell: 'echo {{ api_pass }} >&2; exit 3', ignore_errors: true },
            { name: 'no_log fails', shell: 'echo NoLogFail-SECRET; echo NoLogFail-SECRET-err >&2; exit 1', no_log: true, ignore_errors: true },
            { name: 'register no_log', command: 'echo NoLogReg-SECRET-value', register: 'sec', no_log: true },
            { name: 'still usable', assert: { that: ['sec.stdout == "NoLogReg-SECRET-value"'] } },
            { name: 'show registered', debug: { var: 'sec' } },
            { name: 'show registered stdout', debug: { msg: '{{ sec.stdout }}' } },
            { name: 'diff no_log', copy: { dest: '{{ w }}/nolog-{{ inventory_hostname }}', content: 'NoLogDiff-SECRET\n' }, no_log: true },
            { name: 'diff password', copy: { dest: '{{ w }}/pw-{{ inventory_hostname }}', content: 'svc {{ svc_pass }}\n' } },
            { name: 'uses passwords', command: 'echo {{ app_password }} {{ svc_pass }} {{ api_pass }}', register: 'used' },
            { name: 'no_log command', command: 'echo NoLogCmd-SECRET', no_log: true },
            { name: 'validate password', copy: { dest: '{{ w }}/val-{{ inventory_hostname }}', content: 'svc {{ svc_pass }}\n', validate: 'grep -q {{ svc_pass }} %s' } },
            { name: 'validate no_log', copy: { dest: '{{ w }}/valnl-{{ inventory_hostname }}', content: 'NoLogValidate-SECRET\n', validate: 'grep -q NoLogValidate-SECRET %s' }, no_log: true },
            // (so that every run, --check included, finds the two files to write)
            { name: 'validate cleanup', file: { path: '{{ item }}', state: 'absent' }, loop: ['{{ w }}/val-{{ inventory_hostname }}', '{{ w }}/valnl-{{ inventory_hostname }}'] },
          ],
        },
      ]),
    );
  });
  after(async () => {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const args = (): string[] => ['run', pb, '-i', inv, '-e', 'api_pass=Extra-SECRET-pw', '--diff'];

  it('plain lines with -v and --diff, NDJSON in a file, and the run state show no secret', async () => {
    const json = join(dir, 'events.ndjson');
    const r = ferry([...args(), '--plain', '-v', `--json=${json}`], dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, LEAK);
    assert.doesNotMatch(r.stderr, LEAK);
    const events = await readFile(json, 'utf8');
    assert.doesNotMatch(events, LEAK);
    assert.doesNotMatch(await stateText(join(dir, '.ferry/runs')), LEAK);
    // what is shown instead
    assert.match(r.stdout, /changed: \[sshd\d+\] => \(item=\*{8}\): the output has been hidden \(no_log: true\)/);
    assert.match(r.stdout, /failed: \[sshd\d+\] => \(item=\*{8}\): the output has been hidden/);
    assert.match(r.stdout, /\(item=user \*{8}\)/, 'a loop label holding a password is masked');
    assert.match(r.stdout, /failed \(ignored\): \[sshd\d+\]: .*exit 3\n\*{8}/, 'a failure prints the command and stderr masked');
    assert.match(r.stdout, /failed \(ignored\): \[sshd\d+\]: the output has been hidden \(no_log: true\)/);
    assert.match(r.stdout, /sec = \{\n\s+"censored": "the output has been hidden \(no_log: true\)"/, 'a no_log result prints censored');
    assert.match(r.stdout, /TASK \[show registered stdout\][^\n]*\nok: \[sshd\d+\]: \*{8}/);
    assert.match(r.stdout, /\+svc \*{8}/, 'the diff of a file holding a password is masked');
    assert.doesNotMatch(r.stdout.split('TASK [diff no_log]')[1]!.split('TASK [')[0]!, /^\+/m, 'a no_log task shows no diff');
    const lines = events.trim().split('\n').map((l) => JSON.parse(l) as { type: string; task?: string; item?: string; msg?: string; diff?: unknown; result?: Record<string, unknown> });
    const nolog = lines.filter((e) => e.type === 'task_result' && e.task?.startsWith('loop no_log'));
    assert.equal(nolog.length, 6, 'one event per item and one per task');
    for (const e of nolog) assert.equal(e.msg, NO_LOG_MESSAGE);
    const hidden = lines.filter((e) => e.type === 'task_result' && /no_log/.test(e.task ?? '') && !/^diff password/.test(e.task ?? ''));
    assert.ok(hidden.length >= nolog.length);
    for (const e of hidden) assert.equal(e.result, undefined, `the event of '${e.task}' (no_log) carries its result`);
    assert.ok(lines.some((e) => e.type === 'task_result' && e.result && 'rc' in e.result), 'the other events carry their result');
    assert.ok(lines.some((e) => e.task === 'diff password' && e.diff), 'the password diff is sent, masked');
    assert.ok(!lines.some((e) => e.task === 'diff no_log' && e.diff), 'no diff for a no_log task');
  });

  it('NDJSON on stdout shows no secret', () => {
    const r = ferry([...args(), '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, LEAK);
    assert.match(r.stdout, /"item":"\*{8}"/);
  });

  it('check mode with -v: neither the planned commands of a no_log task nor any password', () => {
    const r = ferry([...args(), '--check', '--plain', '-v'], dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, LEAK);
    const block = (task: string) => r.stdout.split(`TASK [${task}]`)[1]!.split('TASK [')[0]!;
    assert.match(block('no_log command'), /changed: \[sshd\d+\]: the output has been hidden \(no_log: true\)\n(?!\s+- )/);
    assert.match(block('uses passwords'), /would run: run echo \*{8} \*{8} \*{8}\n\s+- run echo \*{8} \*{8} \*{8}/, '-v lists the steps, masked');
    // copy's validate step: the exact command a real run executes on the temporary copy, the password masked
    assert.match(
      block('validate password'),
      /\n {4}- validate the new content with grep -q \*{8} %s\n {6}\$ t=\$\(mktemp \/tmp\/\.ferry-validate\.X+\) && cat > "\$t" \|\| .*; \(exec grep -q '?\*{8}'? "\$t"\); rc=\$\?; rm -f -- "\$t"; exit \$rc\n/,
    );
    assert.match(block('validate no_log'), /changed: \[sshd\d+\]: the output has been hidden \(no_log: true\)\n(?!\s+- )/);
    assert.doesNotMatch(block('validate no_log'), /\$ |mktemp/, 'a no_log task shows no planned command');
  });

  it('listr2 on a terminal (a pty) shows no secret', () => {
    const r = runOnPty([process.execPath, CLI, ...args()], dir, { cols: 200, rows: 60 });
    assert.equal(r.status, 0, r.raw + r.stderr);
    const screen = r.screen;
    assert.match(screen, /PLAY RECAP/);
    assert.match(screen, /✔/, 'listr2 drew the run');
    assert.doesNotMatch(screen, LEAK);
  });

  it('through the library: events mask secrets, registered values stay whole for later tasks', async () => {
    const rep = new CollectingReporter();
    const stateDir = join(dir, 'lib-state');
    const r = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, stateDir, extraVars: { api_pass: 'Extra-SECRET-pw' } });
    assert.equal(r.exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
    assert.doesNotMatch(JSON.stringify(rep.events), LEAK);
    assert.equal(rep.result('still usable', host.name)!.status, 'ok', 'a no_log result is still read by later tasks');
    assert.equal((r.hostValues[host.name]!.used as { stdout: string }).stdout, 'Templated-SECRET-pw VarsFile-SECRET-pw Extra-SECRET-pw');
    const state = JSON.parse(await stateText(stateDir)) as { hosts: Record<string, { registered: Record<string, unknown> }> };
    assert.deepEqual(Object.keys(state.hosts[host.name]!.registered), [], 'registered values that show a secret are not kept');
  });

  it('a no_log handler shows neither its output nor its result', async () => {
    const hpb = join(dir, 'handler.yaml');
    await writeFile(
      hpb,
      stringify([{ hosts: 'all', tasks: [{ name: 'notify', command: 'true', notify: 'secret handler' }], handlers: [{ name: 'secret handler', command: 'echo Handler-SECRET-out', no_log: true }] }]),
    );
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(hpb, { inventory: [inv], reporter: rep, stateDir: join(dir, 'handler-state') });
    assert.equal(r.exitCode, 0);
    const ev = rep.result('secret handler', host.name)!;
    assert.equal(ev.status, 'changed');
    assert.equal(ev.msg, NO_LOG_MESSAGE);
    assert.equal(ev.result, undefined);
    assert.doesNotMatch(JSON.stringify(rep.events), LEAK);
  });
});
