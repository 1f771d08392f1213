// vars_prompt, pause prompts, module_defaults and local_action end to end: prompts answered on a real terminal (a
// pty from script(1)); off one vars_prompt is refused before any host is contacted and pause goes on; module defaults and
// local_action run against a real sshd (logged in as the harness's unprivileged user, so a task that
// ran on the controller, as root, is told apart by who ran it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import { startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { skipWithoutAnsible } from '../helpers/ansible.js';
import { CollectingReporter } from '../helpers/collect.js';
import { answersOnPty, type PtyAnswer } from '../helpers/pty.js';
import { startTrap, type Trap } from '../helpers/trap.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/app/cli.js');

describe('vars_prompt, module_defaults and local_action against real sshd @integration', function () {
  this.timeout(90_000);
  let dir: string;
  let out: string;
  let host: SshdHost;
  let inv: string;
  let trap: Trap;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-prompts-'));
    await chmod(dir, 0o755);
    out = join(dir, 'out');
    await mkdir(out);
    await chmod(out, 0o777);
    host = await startSshd();
    trap = await startTrap();
    inv = await writeInventory([host], dir);
    await writeFile(join(dir, 'trap.yml'), stringify({ all: { hosts: { never: { ansible_host: '127.0.0.1', ansible_port: trap.port } } } }));
  });
  after(async () => {
    await host?.stop();
    await trap?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const promptPlaybook = (hosts: string, file: string) => [
    {
      hosts,
      gather_facts: false,
      vars_prompt: [
        { name: 'who', prompt: 'Who are you', private: false },
        { name: 'pw', prompt: 'Deploy password', confirm: true },
        { name: 'colour', prompt: 'Colour', default: 'blue', private: false },
      ],
      tasks: [
        { name: 'write', copy: { dest: file, content: '{{ who }}:{{ pw }}:{{ colour }}\n' } },
        { name: 'show', debug: { msg: 'the password is {{ pw }}' } },
      ],
    },
  ];

  it('asks on a terminal: an open answer echoes, a private one (confirmed) does not and is masked in the output', async () => {
    const file = join(out, 'answers');
    const pb = join(dir, 'prompt.yml');
    await writeFile(pb, stringify(promptPlaybook(host.name, file)));
    // Each answer is typed once its prompt is up (the terminal is raw only while ferry reads), as a person would.
    const r = await answersOnPty(
      [process.execPath, CLI, 'run', pb, '-i', inv, '--plain', '-v'],
      dir,
      [
        { prompt: /Who are you: $/, answer: 'alice' },
        { prompt: /Deploy password: $/, answer: 's3cret-pw' },
        { prompt: /confirm Deploy password: $/, answer: 's3cret-pw' },
        { prompt: /Colour \[blue\]: $/, answer: '' },
      ],
      { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, TERM: 'dumb' },
    );
    const screen = r.raw.replace(/\r/g, '');
    assert.equal(r.status, 0, screen + r.stderr);
    assert.match(screen, /Who are you: alice\n/);
    assert.match(screen, /Deploy password: \nconfirm Deploy password: \n/);
    assert.match(screen, /Colour \[blue\]: \n/);
    assert.doesNotMatch(screen, /s3cret-pw/, 'the private answer was shown');
    assert.match(screen, /the password is \*+/);
    assert.equal(await readFile(file, 'utf8'), 'alice:s3cret-pw:blue\n');
  });

  it('off a terminal: a prompt without a default is bad input at its file:line, and no host is contacted; -e answers it', async () => {
    const pb = join(dir, 'prompt-trap.yml');
    await writeFile(pb, stringify(promptPlaybook('never', join(out, 'never'))));
    const before = (await trap.contacts());
    const r = spawnSync(process.execPath, [CLI, 'run', pb, '-i', join(dir, 'trap.yml'), '--plain'], { cwd: dir, encoding: 'utf8', input: 'alice\n', env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.status, 4, r.stderr + r.stdout);
    assert.match(r.stderr, /prompt-trap\.yml:4:\d+: vars_prompt 'who': there is no terminal to ask "Who are you" on, and it has no default/);
    assert.match(r.stderr, /prompt-trap\.yml:7:\d+: vars_prompt 'pw':/);
    assert.match(r.stderr, /-e who=VALUE/);
    assert.doesNotMatch(r.stderr, /'colour'/);
    assert.equal((await trap.contacts()), before, 'a host was contacted');

    const file = join(out, 'from-e');
    const ok = join(dir, 'prompt-e.yml');
    await writeFile(ok, stringify(promptPlaybook(host.name, file)));
    const e = spawnSync(process.execPath, [CLI, 'run', ok, '-i', inv, '--plain', '-v', '-e', 'who=bob', '-e', 'pw=e-pass-word'], { cwd: dir, encoding: 'utf8', input: '', env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(e.status, 0, e.stderr + e.stdout);
    assert.equal(await readFile(file, 'utf8'), 'bob:e-pass-word:blue\n');
    assert.doesNotMatch(e.stderr + e.stdout, /Who are you|Deploy password/, 'a name given with -e was asked');
  });

  describe('pause with a prompt, on a real terminal and off one', () => {
    const pausePlay = (hosts: string) => [
      {
        hosts,
        gather_facts: false,
        tasks: [
          { pause: { prompt: 'Which guest' }, register: 'g' },
          { pause: { prompt: 'Secret', echo: false }, register: 's' },
          { debug: { msg: '[{{ g.user_input }}][{{ s.user_input }}]' } },
        ],
      },
    ];
    /**
     * Runs `cmd` on a pty from script(1), typing each answer once its prompt is up, `graceMs` later (ansible-playbook
     * flushes the terminal's input just after it draws a prompt); the screen without \r.
     */
    const onTerminal = async (cmd: string[], env: Record<string, string>, graceMs = 0): Promise<{ status: number | null; screen: string }> => {
      const answers: PtyAnswer[] = [
        { prompt: /Which guest:/, answer: 'xr1', graceMs },
        { prompt: /Secret \(output is hidden\):/, answer: 'hush-4711', graceMs },
      ];
      const r = await answersOnPty(cmd, dir, answers, { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, TERM: 'dumb', ...env });
      return { status: r.status, screen: r.raw.replace(/\r/g, '') + r.stderr };
    };

    it('registers what was typed as user_input, echoed or hidden, as ansible-playbook does on the same terminal', async function () {
      skipWithoutAnsible(this);
      const pb = join(dir, 'pause-prompt.yml');
      await writeFile(pb, stringify(pausePlay(host.name)));
      const f = await onTerminal([process.execPath, CLI, 'run', pb, '-i', inv, '--plain'], {});
      assert.equal(f.status, 0, f.screen);
      assert.match(f.screen, /Which guest:\n.*xr1/);
      assert.match(f.screen, /Secret \(output is hidden\):\n/);
      const apb = join(dir, 'pause-prompt-ansible.yml');
      await writeFile(apb, stringify(pausePlay('localhost')));
      const a = await onTerminal(['ansible-playbook', '-c', 'local', '-i', 'localhost,', apb], { ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp') }, 1000);
      assert.equal(a.status, 0, a.screen);
      // what each registered, as the debug task shows it
      const shown = (screen: string) => /\[[^\]\n]*\]\[[^\]\n]*\]/.exec(screen)?.[0];
      assert.equal(shown(a.screen), '[xr1][hush-4711]', a.screen);
      assert.equal(shown(f.screen), shown(a.screen), f.screen);
      // typed with echo: false, the answer is not on the screen before the debug task shows it
      assert.doesNotMatch(f.screen.slice(0, f.screen.indexOf('[xr1]')), /hush-4711/);
    });

    it('off a terminal it does not wait and the run goes on with empty answers, saying why, as ansible-playbook does', async function () {
      skipWithoutAnsible(this);
      const pb = join(dir, 'pause-no-tty.yml');
      await writeFile(pb, stringify(pausePlay(host.name)));
      const f = spawnSync(process.execPath, [CLI, 'run', pb, '-i', inv, '--plain'], { cwd: dir, encoding: 'utf8', input: 'typed\n', env: { ...process.env, NO_COLOR: '1', HOME: dir } });
      const apb = join(dir, 'pause-no-tty-ansible.yml');
      await writeFile(apb, stringify(pausePlay('localhost')));
      const a = spawnSync('ansible-playbook', ['-c', 'local', '-i', 'localhost,', apb], { cwd: dir, encoding: 'utf8', input: 'typed\n', env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp'), HOME: dir } });
      for (const [who, r] of [['ansible-playbook', a], ['ferry', f]] as const) {
        const screen = r.stdout + r.stderr;
        assert.equal(r.status, 0, `${who}: ${screen}`);
        assert.equal(screen.split('Not waiting for response to prompt as stdin is not interactive').length - 1, 2, `${who}: ${screen}`);
        assert.match(screen, /\[\]\[\]/, `${who}: both answers are empty`);
      }
    });
  });

  async function runPlays(name: string, plays: unknown) {
    const pb = join(dir, `${name}.yml`);
    await writeFile(pb, stringify(plays));
    const rep = new CollectingReporter();
    const summary = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, stateDir: join(dir, '.state'), extraVars: { out } });
    return { rep, summary };
  }

  it('module_defaults from the play, a block and the task give the module its parameters; an inner level replaces a module\'s outer defaults; what the task writes wins', async () => {
    const { rep, summary } = await runPlays('defaults', [
      {
        hosts: host.name,
        gather_facts: false,
        module_defaults: { 'ansible.builtin.copy': { mode: '0640', content: 'from the play\n' }, command: { chdir: out } },
        tasks: [
          { name: 'play level', copy: { dest: '{{ out }}/md-play' } },
          {
            block: [
              { name: 'block level', copy: { dest: '{{ out }}/md-block' } },
              { name: 'task level', copy: { dest: '{{ out }}/md-task' }, module_defaults: { 'ansible.legacy.copy': { mode: '0604', content: 'from the task\n' } } },
              { name: 'task args win', copy: { dest: '{{ out }}/md-args', mode: '0644', content: 'own\n' } },
            ],
            module_defaults: { copy: { mode: '0600', content: 'from the block\n' } },
          },
          { name: 'command chdir', command: 'touch md-chdir' },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    const modeOf = async (f: string) => ((await stat(join(out, f))).mode & 0o777).toString(8);
    assert.deepEqual(
      [await modeOf('md-play'), await modeOf('md-block'), await modeOf('md-task'), await modeOf('md-args')],
      ['640', '600', '604', '644'],
    );
    assert.equal(await readFile(join(out, 'md-play'), 'utf8'), 'from the play\n');
    assert.equal(await readFile(join(out, 'md-block'), 'utf8'), 'from the block\n');
    assert.equal(await readFile(join(out, 'md-task'), 'utf8'), 'from the task\n');
    assert.equal(await readFile(join(out, 'md-args'), 'utf8'), 'own\n');
    await stat(join(out, 'md-chdir'));
  });

  it('local_action runs the module on the controller (as delegate_to: localhost), free form or as a mapping', async () => {
    const { rep, summary } = await runPlays('local', [
      {
        hosts: host.name,
        gather_facts: false,
        tasks: [
          { name: 'remote', shell: 'id -un > {{ out }}/who-remote' },
          { name: 'local free form', local_action: 'shell id -un > {{ out }}/who-local-{{ inventory_hostname }}' },
          { name: 'local mapping', local_action: { module: 'copy', dest: '{{ out }}/local-copy', content: '{{ inventory_hostname }}\n' }, register: 'lc' },
          { name: 'registered', debug: { msg: "{{ 'yes' if lc is changed else 'no' }}" } },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.equal((await readFile(join(out, 'who-remote'), 'utf8')).trim(), host.users.nopasswd);
    const me = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
    assert.notEqual(me, host.users.nopasswd);
    assert.equal((await readFile(join(out, `who-local-${host.name}`), 'utf8')).trim(), me);
    assert.equal(await readFile(join(out, 'local-copy'), 'utf8'), `${host.name}\n`);
    assert.equal(rep.result('local mapping', host.name)!.status, 'changed');
    assert.equal(rep.result('registered', host.name)!.msg, 'yes');
  });
});
