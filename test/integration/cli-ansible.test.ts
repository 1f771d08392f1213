// The command line an Ansible user types (issue 13 §4), through the built CLI against real sshd:
// ansible.cfg and ANSIBLE_* settings, -u / --private-key / -b / -K and their precedence against
// the inventory and -e, ~/.ssh/config's Port, --list-*, --syntax-check and --step (no host contacted
// by the listings: their inventory points at a counting listener).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startSshd, type SshdHost } from '../harness/sshd.js';
import { answerOnPty, runOnPty } from '../helpers/pty.js';
import { startTrap, type Trap } from '../helpers/trap.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/app/cli.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in `cwd` with only the environment given (and HOME), stdin from `input`. */
function ferry(args: string[], cwd: string, o: { env?: Record<string, string>; input?: string; home: string }): Run {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', HOME: o.home, USER: 'nobody', ...o.env };
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env, input: o.input ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ferry CLI as an Ansible user types it @integration', function () {
  this.timeout(60_000);
  let dir: string;
  let project: string;
  let out: string;
  let home: string;
  let host: SshdHost;
  let trap: Trap;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-cli-ansible-'));
    // The project folder holds ansible.cfg: not world writable (Ansible and ferry skip the cfg there).
    project = join(dir, 'project');
    home = join(dir, 'home');
    out = join(dir, 'out');
    await mkdir(project, { mode: 0o755 });
    await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    // The tasks write here as whichever user they run as.
    await mkdir(out);
    await chmod(out, 0o777);
    await chmod(dir, 0o755);
    host = await startSshd();
    trap = await startTrap();
  });
  after(async () => {
    await host?.stop();
    await trap?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** An inventory of the sshd host with `vars` (address, known_hosts, and what the case adds). */
  async function inventory(name: string, vars: Record<string, unknown>): Promise<string> {
    const path = join(project, name);
    await writeFile(path, stringify({ all: { hosts: { [host.name]: { ansible_host: host.host, ferry_known_hosts_file: host.knownHostsFile, ...vars } } } }));
    return path;
  }

  /** A playbook writing `id -un` (the user its task runs as) to a file; returns both paths. */
  async function whoamiPlaybook(name: string, play: Record<string, unknown> = {}): Promise<{ pb: string; result: string }> {
    const result = join(out, `${name}.txt`);
    const pb = join(project, `${name}.yaml`);
    await writeFile(pb, stringify([{ hosts: 'all', gather_facts: false, ...play, tasks: [{ shell: `id -un > ${result}` }] }]));
    return { pb, result };
  }

  async function ranAs(result: string): Promise<string> {
    const who = (await readFile(result, 'utf8')).trim();
    await rm(result, { force: true });
    return who;
  }

  it('takes inventory, remote_user and private_key_file from ./ansible.cfg; -u and ANSIBLE_REMOTE_USER win over it', async () => {
    await inventory('cfg-hosts.yml', { ansible_port: host.port });
    await writeFile(join(project, 'ansible.cfg'), `[defaults]\ninventory = cfg-hosts.yml\nremote_user = ${host.users.nopasswd}\nprivate_key_file = ${host.userKeyFile}\nnocows = 1\n`);
    try {
      const { pb, result } = await whoamiPlaybook('cfg');
      const plain = ferry(['run', pb, '--plain'], project, { home });
      assert.equal(plain.code, 0, plain.stderr + plain.stdout);
      assert.equal(await ranAs(result), host.users.nopasswd);
      const cli = ferry(['run', pb, '--plain', '-u', 'root'], project, { home, env: { ANSIBLE_REMOTE_USER: host.users.passwordUser } });
      assert.equal(cli.code, 0, cli.stderr + cli.stdout);
      assert.equal(await ranAs(result), 'root', '-u over the environment');
      const env = ferry(['run', pb, '--plain'], project, { home, env: { ANSIBLE_REMOTE_USER: 'root' } });
      assert.equal(env.code, 0, env.stderr + env.stdout);
      assert.equal(await ranAs(result), 'root', 'the environment over ansible.cfg');
      // ANSIBLE_CONFIG names another file: ./ansible.cfg is not read.
      await writeFile(join(dir, 'other.cfg'), `[defaults]\ninventory = ${join(project, 'cfg-hosts.yml')}\nremote_user = root\nprivate_key_file = ${host.userKeyFile}\n`);
      const other = ferry(['run', pb, '--plain'], project, { home, env: { ANSIBLE_CONFIG: join(dir, 'other.cfg') } });
      assert.equal(other.code, 0, other.stderr + other.stdout);
      assert.equal(await ranAs(result), 'root');
    } finally {
      await rm(join(project, 'ansible.cfg'));
    }
  });

  it('a bad ansible.cfg value stops before anything runs, at its file:line', async () => {
    await writeFile(join(project, 'ansible.cfg'), '[defaults]\nforks = 5\n\n[privilege_escalation]\nbecome = sometimes\n');
    try {
      const { pb } = await whoamiPlaybook('bad-cfg');
      const r = ferry(['run', pb, '-i', await inventory('bad-cfg.yml', { ansible_port: trap.port })], project, { home });
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, new RegExp(`\\sansible.cfg:5: become must be a boolean .* got 'sometimes'`));
      assert.equal((await trap.contacts()), 0);
    } finally {
      await rm(join(project, 'ansible.cfg'));
    }
  });

  it('the inventory\'s ansible_user beats -u; -e ansible_user and -e ferry_port beat the inventory', async () => {
    const inv = await inventory('user.yml', { ansible_port: 1, ansible_user: host.users.nopasswd, ansible_ssh_private_key_file: host.userKeyFile });
    const { pb, result } = await whoamiPlaybook('precedence');
    const u = ferry(['run', pb, '-i', inv, '--plain', '-u', 'root', '-e', `ferry_port=${host.port}`], project, { home });
    assert.equal(u.code, 0, u.stderr + u.stdout);
    assert.equal(await ranAs(result), host.users.nopasswd);
    const e = ferry(['run', pb, '-i', inv, '--plain', '-e', 'ansible_user=root', '-e', `{"ansible_port": ${host.port}}`], project, { home });
    assert.equal(e.code, 0, e.stderr + e.stdout);
    assert.equal(await ranAs(result), 'root');
    // a bad -e port is bad input, before any connection
    const bad = ferry(['run', pb, '-i', inv, '--plain', '-e', 'ferry_port=22a'], project, { home });
    assert.equal(bad.code, 4);
    assert.match(bad.stderr, /<command line>:1: host '.*': ferry_port '22a' is not a TCP port number/);
  });

  it('--private-key and -b -K (the password read from stdin without a terminal, never printed)', async () => {
    const inv = await inventory('become.yml', { ansible_port: host.port });
    const { pb, result } = await whoamiPlaybook('become');
    const pw = host.users.password;
    const r = ferry(['run', pb, '-i', inv, '--plain', '-u', host.users.passwordUser, '--private-key', host.userKeyFile, '-b', '-K', '-v'], project, { home, input: `${pw}\n` });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(await ranAs(result), 'root');
    assert.ok(!(r.stdout + r.stderr).includes(pw), 'the become password was printed');
    assert.match(r.stderr, /BECOME password: /);
    // --become-user
    const other = ferry(['run', pb, '-i', inv, '--plain', '-u', host.users.passwordUser, '--private-key', host.userKeyFile, '-b', '--become-user', host.users.nopasswd, '-K'], project, { home, input: `${pw}\n` });
    assert.equal(other.code, 0, other.stderr + other.stdout);
    assert.equal(await ranAs(result), host.users.nopasswd);
  });

  it('-K on a terminal (a pty) asks without echo: the password typed is not shown, and is used', async () => {
    const inv = await inventory('become-tty.yml', { ansible_port: host.port, ansible_user: host.users.passwordUser, ansible_ssh_private_key_file: host.userKeyFile });
    const { pb, result } = await whoamiPlaybook('become-tty', { become: true });
    const pw = host.users.password;
    // typed once the prompt is up, as keystrokes on the pty
    const r = await answerOnPty([process.execPath, CLI, 'run', pb, '-i', inv, '--plain', '-K'], project, /BECOME password: /, pw, {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TERM: 'dumb',
    });
    assert.equal(r.status, 0, r.raw + r.stderr);
    assert.match(r.raw, /BECOME password: \r?\n/);
    assert.ok(!r.raw.includes(pw), 'the password was echoed');
    assert.equal(await ranAs(result), 'root');
  });

  it('uses ferry_become_password given with -e or in the play\'s vars', async () => {
    const inv = await inventory('become-vars.yml', { ansible_port: host.port, ansible_user: host.users.passwordUser, ansible_ssh_private_key_file: host.userKeyFile });
    const pw = host.users.password;
    const e = await whoamiPlaybook('become-e', { become: true });
    const r1 = ferry(['run', e.pb, '-i', inv, '--plain', '-e', `ferry_become_password=${pw}`], project, { home });
    assert.equal(r1.code, 0, r1.stderr + r1.stdout);
    assert.equal(await ranAs(e.result), 'root');
    const play = await whoamiPlaybook('become-play', { become: true, vars: { ferry_become_password: pw } });
    const r2 = ferry(['run', play.pb, '-i', inv, '--plain'], project, { home });
    assert.equal(r2.code, 0, r2.stderr + r2.stdout);
    assert.equal(await ranAs(play.result), 'root');
    assert.ok(!(r1.stdout + r1.stderr + r2.stdout + r2.stderr).includes(pw), 'the become password was printed');
  });

  it('honours ~/.ssh/config\'s Port (and HostName, User, IdentityFile) for a host only it describes', async () => {
    const sshHome = join(dir, 'ssh-home');
    await mkdir(join(sshHome, '.ssh'), { recursive: true, mode: 0o700 });
    await writeFile(join(sshHome, '.ssh', 'config'), `Host web1\n  HostName ${host.host}\n  Port ${host.port}\n  User root\n  IdentityFile ${host.userKeyFile}\n`);
    await writeFile(join(sshHome, '.ssh', 'known_hosts'), (await readFile(host.knownHostsFile, 'utf8')));
    const { pb, result } = await whoamiPlaybook('ssh-config');
    const r = ferry(['run', pb, '-i', 'web1,', '--plain'], project, { home: sshHome });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(await ranAs(result), 'root');
  });

  it('on a terminal (a pty), the listr2 view leaves the diffs, a debug mapping and the recap on the screen', async () => {
    const inv = await inventory('pty.yml', { ansible_port: host.port, ansible_user: 'root', ansible_ssh_private_key_file: host.userKeyFile });
    const target = join(out, 'pty-target.txt');
    await writeFile(target, 'old line\n');
    const pb = join(project, 'pty.yaml');
    await writeFile(
      pb,
      stringify([{ hosts: 'all', gather_facts: false, vars: { x: { a: 1, b: [2, 3] } }, tasks: [
        { name: 'change a file', copy: { dest: target, content: 'new line\n' } },
        { name: 'show x', debug: { var: 'x' } },
      ] }]),
    );
    const r = runOnPty([process.execPath, CLI, 'run', pb, '-i', inv, '--check', '--diff'], project);
    assert.equal(r.status, 0, r.screen + r.stderr);
    const screen = r.screen.replace(/\r\n/g, '\n');
    // listr2 redraws each task in place: its last frame is what stays on the screen.
    const lastFrame = (title: string, until: string): string => {
      const from = screen.lastIndexOf(`✔ ${title}`);
      assert.ok(from >= 0, `no final frame for ${title}:\n${screen}`);
      return screen.slice(from, screen.indexOf(until, from));
    };
    const copy = lastFrame('change a file', 'show x');
    assert.match(copy, new RegExp(`${host.name}: changed would run: replace`));
    assert.match(copy, /^\s+-old line$/m);
    assert.match(copy, /^\s+\+new line$/m);
    const debug = lastFrame('show x', 'PLAY RECAP');
    assert.match(debug, new RegExp(`${host.name}: ok\\n\\s+› x = \\{\\n\\s+"a": 1,\\n\\s+"b": \\[\\n\\s+2,\\n\\s+3\\n\\s+\\]\\n\\s+\\}`));
    assert.match(screen, /PLAY RECAP[^\n]*\nHOST\s+ok\s+changed[^\n]*\nsshd\d+\s+2\s+1\s+0\s+0/);
  });

  describe('listing and stepping', () => {
    let trapInv: string;
    let pb: string;
    before(async () => {
      trapInv = join(project, 'trap.yml');
      await writeFile(trapInv, `all:\n  vars: { ansible_host: 127.0.0.1, ansible_port: ${trap.port} }\n  children:\n    web:\n      hosts: { web1: , web2: }\n    db:\n      hosts: { db1: }\n`);
      pb = join(project, 'site.yml');
      await writeFile(
        pb,
        '- name: web servers\n  hosts: web\n  tags: [web]\n  tasks:\n    - name: install\n      ping:\n      tags: [pkg, setup]\n' +
          '    - block:\n        - debug: { msg: hi }\n      tags: [talk]\n- hosts: db\n  tasks:\n    - name: check db\n      ping:\n',
      );
    });

    it('--list-hosts, --list-tasks, --list-tags and --syntax-check print as ansible-playbook does, contacting nobody', async () => {
      const list = (...args: string[]): string => {
        const r = ferry(['run', 'site.yml', ...args], project, { home });
        assert.equal(r.code, 0, r.stderr);
        return r.stdout;
      };
      assert.equal(
        list('-i', 'trap.yml', '--list-hosts'),
        "\nplaybook: site.yml\n\n  play #1 (web): web servers\tTAGS: [web]\n    pattern: ['web']\n    hosts (2):\n      web1\n      web2\n\n" +
          "  play #2 (db): db\tTAGS: []\n    pattern: ['db']\n    hosts (1):\n      db1\n",
      );
      assert.match(list('-i', 'trap.yml', '--list-hosts', '--limit', 'web2'), /hosts \(1\):\n {6}web2\n\n {2}play #2 \(db\): db\tTAGS: \[\]\n {4}pattern: \['db'\]\n {4}hosts \(0\):\n$/);
      assert.equal(
        list('-i', 'trap.yml', '--list-tasks', '--list-tags'),
        '\nplaybook: site.yml\n\n  play #1 (web): web servers\tTAGS: [web]\n    tasks:\n      install\tTAGS: [pkg, setup, web]\n      debug\tTAGS: [talk, web]\n' +
          '      TASK TAGS: [pkg, setup, talk, web]\n\n\n  play #2 (db): db\tTAGS: []\n    tasks:\n      check db\tTAGS: []\n      TASK TAGS: []\n\n',
      );
      const tagged = list('-i', 'trap.yml', '--list-tasks', '--tags', 'pkg');
      assert.doesNotMatch(tagged, /debug|check db/);
      assert.match(tagged, /install\tTAGS/);
      // no inventory needed to check the syntax
      assert.equal(list('--syntax-check'), '\nplaybook: site.yml\n');
      assert.equal((await trap.contacts()), 0);
    });

    it("ansible.cfg's roles_path is where roles are found (a role only there is listed as 'role : task'); without it the role is not found", async () => {
      const sub = join(project, 'with-roles');
      await mkdir(join(sub, 'shared', 'greet', 'tasks'), { recursive: true });
      await writeFile(join(sub, 'shared', 'greet', 'tasks', 'main.yml'), '- name: hello\n  ping:\n');
      await writeFile(join(sub, 'pb.yml'), '- hosts: web\n  roles: [greet]\n');
      await copyFile(join(project, 'trap.yml'), join(sub, 'trap.yml'));
      const without = ferry(['run', 'pb.yml', '-i', 'trap.yml', '--list-tasks'], sub, { home });
      assert.equal(without.code, 4);
      assert.match(without.stderr, /pb\.yml:2:\d+: role 'greet' not found/);
      await writeFile(join(sub, 'ansible.cfg'), '[defaults]\nroles_path = ./shared\n');
      const listed = ferry(['run', 'pb.yml', '-i', 'trap.yml', '--list-tasks'], sub, { home });
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /tasks:\n {6}greet : hello\tTAGS: \[\]\n/);
      assert.equal((await trap.contacts()), 0);
    });

    it('--step asks before each task: y runs it, n skips it, c runs the rest without asking', async () => {
      const inv = await inventory('step.yml', { ansible_port: host.port, ansible_user: 'root', ansible_ssh_private_key_file: host.userKeyFile });
      const file = (n: number): string => join(out, `step-${n}`);
      const stepPb = join(project, 'step.yaml');
      await writeFile(stepPb, stringify([{ hosts: 'all', gather_facts: false, tasks: [1, 2, 3, 4].map((n) => ({ name: `touch ${n}`, command: `touch ${file(n)}` })) }]));
      const r = ferry(['run', stepPb, '-i', inv, '--plain', '--step'], project, { home, input: 'y\nn\nc\n' });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal((r.stderr.match(/Perform task: TASK: touch \d \(N\)o\/\(y\)es\/\(c\)ontinue: /g) ?? []).length, 3);
      const exists = async (p: string): Promise<boolean> => readFile(p).then(() => true, () => false);
      assert.deepEqual(await Promise.all([1, 2, 3, 4].map((n) => exists(file(n)))), [true, false, true, true]);
    });
  });
});
