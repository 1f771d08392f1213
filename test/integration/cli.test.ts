// The CLI: bad input is reported with file:line and exit code 4 before any host is contacted;
// exit codes; ferry doc; ferry exec against a real sshd; ferry inventory --list.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, chmod, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { runOnPty } from '../helpers/pty.js';

const ROOT = resolve(import.meta.dirname, '../..');

// The built CLI, as a user runs it (`npm test` builds first).
const CLI = join(ROOT, 'dist/runner/cli.js');

function ferry(args: string[], cwd = ROOT): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ferry CLI @integration', function () {
  this.timeout(60_000);
  let dir: string;
  let trap: Server;
  let contacts = 0;
  let trapInv: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    await chmod(dir, 0o777);
    // A host that counts connections: bad input must never reach it.
    trap = createServer((s) => {
      contacts++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const port = (trap.address() as { port: number }).port;
    trapInv = join(dir, 'trap.yaml');
    await writeFile(trapInv, `all:\n  children:\n    hypervisors:\n      hosts:\n        hv1:\n          ansible_host: 127.0.0.1\n          ansible_port: ${port}\n`);
  });
  after(async () => {
    trap.close();
    await rm(dir, { recursive: true, force: true });
  });

  const BAD: { name: string; playbook: string; expect: RegExp[]; args?: string[] }[] = [
    { name: 'malformed YAML', playbook: '- hosts: all\n  tasks:\n    - name: x\n      command: [unclosed\n', expect: [/pb\.yaml:\d+/, /YAML syntax error/] },
    { name: 'an unknown module', playbook: '- hosts: all\n  tasks:\n    - name: x\n      comand: uptime\n', expect: [/pb\.yaml:4/, /unknown module or keyword 'comand'/, /did you mean 'command'/] },
    { name: 'an unknown parameter', playbook: '- hosts: all\n  tasks:\n    - copy:\n        dest: /tmp/x\n        contnet: hi\n', expect: [/pb\.yaml:5/, /no parameter 'contnet'/, /did you mean 'content'/] },
    { name: 'a mistyped parameter', playbook: '- hosts: all\n  tasks:\n    - command:\n        cmd: [not, a, string]\n', expect: [/pb\.yaml:4/, /parameter 'cmd'/] },
    { name: 'an undefined template variable', playbook: '- hosts: all\n  tasks:\n    - name: t\n      command: echo {{ nosuchvar }}\n', expect: [/pb\.yaml:4/, /undefined variable 'nosuchvar'/, /'when: nosuchvar is defined'/] },
    {
      name: 'handlebars syntax left in a value',
      playbook: '- hosts: all\n  tasks:\n    - name: t\n      command: echo {{default x "y"}} {{ l.[0] }}\n',
      expect: [/pb\.yaml:4/, /this is handlebars syntax; in Jinja2 write \{\{ x \| default\('y'\) \}\}/],
    },
    { name: 'a host pattern that matches nothing', playbook: '- hosts: hypervisor\n  tasks:\n    - ping:\n', expect: [/matches no host or group/, /did you mean 'hypervisors'/] },
    { name: 'a --limit that matches nothing', playbook: '- hosts: all\n  tasks:\n    - ping:\n', args: ['--limit', 'nohost'], expect: [/'nohost' matches no host/] },
    { name: 'a play keyword on a task', playbook: '- hosts: all\n  tasks:\n    - ping:\n      gather_facts: true\n', expect: [/pb\.yaml:4/, /play keyword/] },
    { name: 'a bad condition', playbook: '- hosts: all\n  tasks:\n    - ping:\n      when: x ==\n', expect: [/pb\.yaml:4/, /bad condition/] },
    { name: 'a src_host that is not in the inventory', playbook: '- hosts: all\n  tasks:\n    - rsync:\n        src: /a/\n        src_host: hv2\n        dest: /b/\n', expect: [/pb\.yaml:5/, /src_host: 'hv2' is not a host of the inventory/, /did you mean 'hv1'/] },
    { name: 'a delegate_to that is not in the inventory', playbook: '- hosts: all\n  tasks:\n    - ping:\n      delegate_to: hv-1\n', expect: [/pb\.yaml:3/, /delegate_to: 'hv-1' is not a host of the inventory/] },
    // No value becomes an option (a literal one is refused at load time, --check or not).
    {
      name: 'an rsync src that rsync would read as --rsh',
      playbook: "- hosts: all\n  tasks:\n    - rsync:\n        src: \"--rsh=sh -c 'touch /tmp/pwned'\"\n        dest: 'localhost:/b/'\n",
      args: ['--check'],
      expect: [/pb\.yaml:4/, /parameter 'src': '--rsh=sh -c 'touch \/tmp\/pwned'' starts with '-', so rsync would read it as an option/, /pb\.yaml:5/, /parameter 'dest': .*remote host/],
    },
    { name: 'an LVM VG named like an option', playbook: '- hosts: all\n  tasks:\n    - lvm: { vg: --test, lv: x, size: 1G }\n', expect: [/pb\.yaml:3/, /parameter 'vg': '--test' is not a valid LVM volume group name: it must not start with '-'/] },
    { name: 'an LVM LV name lvm reserves', playbook: '- hosts: all\n  tasks:\n    - lvm:\n        vg: vg1\n        lv: data_mlog\n        size: 1G\n', expect: [/pb\.yaml:5/, /parameter 'lv': .*_mlog/] },
    { name: 'an lvrename source named like an option', playbook: '- hosts: all\n  tasks:\n    - lvm: { vg: vg1, lv: new, from: --test, state: renamed }\n', expect: [/pb\.yaml:3/, /parameter 'from': '--test' is not a valid LVM logical volume name/] },
    { name: 'a filesystem dev named like an option', playbook: '- hosts: all\n  tasks:\n    - filesystem:\n        dev: --help\n', expect: [/pb\.yaml:4/, /parameter 'dev': '--help' is not an absolute path/] },
    { name: 'a mount src named like an option', playbook: '- hosts: all\n  tasks:\n    - mount:\n        path: /mnt/x\n        src: --all\n', expect: [/pb\.yaml:5/, /parameter 'src': '--all' starts with '-'/] },
    { name: 'a notify to no handler', playbook: '- hosts: all\n  tasks:\n    - ping:\n      notify: restart it\n', expect: [/pb\.yaml:3/, /no handler named 'restart it'/] },
  ];

  for (const c of BAD) {
    it(`rejects ${c.name} with file:line, exit 4, and no host contacted`, async () => {
      const pb = join(dir, 'pb.yaml');
      await writeFile(pb, c.playbook);
      const before = contacts;
      const r = ferry(['run', pb, '-i', trapInv, ...(c.args ?? [])], dir);
      assert.equal(r.code, 4, r.stderr + r.stdout);
      for (const re of c.expect) assert.match(r.stderr, re);
      assert.match(r.stderr, /nothing was run/);
      assert.equal(contacts, before, 'a host was contacted');
    });
  }

  it('collects every problem of a file, not just the first', async () => {
    const pb = join(dir, 'many.yaml');
    await writeFile(pb, '- hosts: all\n  tasks:\n    - comand: x\n    - copy: { dest: /x, bogus: 1 }\n    - ping:\n      when: "a ==="\n');
    const r = ferry(['run', pb, '-i', trapInv], dir);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /many\.yaml:3/);
    assert.match(r.stderr, /many\.yaml:4/);
    assert.match(r.stderr, /many\.yaml:6/);
  });

  it('fails the task, contacting nothing, when a templated delegate_to names a host the inventory lacks', async () => {
    const pb = join(dir, 'tpl-delegate.yaml');
    await writeFile(pb, "- hosts: all\n  gather_facts: false\n  vars: { target: hv-2 }\n  tasks:\n    - ping:\n      delegate_to: '{{ target }}'\n");
    const before = contacts;
    const r = ferry(['run', pb, '-i', trapInv, '--plain'], dir);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stdout, /'hv-2' is not a host of the inventory/);
    assert.equal(contacts, before, 'a host was contacted');
  });

  it('rejects a malformed inventory with file:line', async () => {
    const inv = join(dir, 'bad-inv.yaml');
    await writeFile(inv, 'all:\n  hosts:\n    a:\n  childs:\n    b: {}\n');
    const pb = join(dir, 'ok.yaml');
    await writeFile(pb, '- hosts: all\n  tasks:\n    - ping:\n');
    const r = ferry(['run', pb, '-i', inv], dir);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /bad-inv\.yaml:4/);
  });

  it('lists modules and documents one from its schema', () => {
    const list = ferry(['doc']);
    assert.equal(list.code, 0);
    for (const m of ['command', 'shell', 'copy', 'template', 'ping', 'set', 'debug']) assert.match(list.stdout, new RegExp(`^${m}\\s`, 'm'));
    const copy = ferry(['doc', 'copy']);
    assert.equal(copy.code, 0);
    assert.match(copy.stdout, /PARAMETERS/);
    assert.match(copy.stdout, /^ {2}dest\s+\(string; required\)/m);
    assert.match(copy.stdout, /EXAMPLE/);
    const none = ferry(['doc', 'nosuch']);
    assert.equal(none.code, 4);
  });

  describe('against a real sshd', () => {
    let host: SshdHost;
    let inv: string;
    before(async () => {
      host = await startSshd();
      inv = await writeInventory([host], dir);
    });
    after(() => host.stop());

    it('runs an ad-hoc module (ferry exec) and exits 0', () => {
      const r = ferry(['exec', '-i', inv, 'all', '-m', 'command', '-a', 'uname -s', '--plain', '-v'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /changed: \[sshd\d+\]/);
      assert.match(r.stdout, /PLAY RECAP/);
    });

    it('shows the run live with listr2 on a terminal (a pty), ending with the recap table', () => {
      const r = runOnPty([process.execPath, CLI, 'exec', '-i', inv, 'all', '-m', 'ping'], dir);
      assert.equal(r.status, 0, r.raw + r.stderr);
      const screen = r.screen;
      assert.match(screen, /✔/);
      assert.match(screen, new RegExp(`${host.name}: ok`));
      assert.match(screen, /PLAY RECAP/);
      assert.match(screen, /HOST\s+ok\s+changed\s+unreachable\s+failed/);
      assert.notEqual(screen, r.raw, 'colours on a terminal');
    });

    it('prints NDJSON events with --json', () => {
      const r = ferry(['exec', '-i', inv, 'all', '-m', 'ping', '--json'], dir);
      assert.equal(r.code, 0, r.stderr);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; status?: string });
      assert.deepEqual([...new Set(events.map((e) => e.type))], ['run_start', 'play_start', 'task_start', 'task_result', 'recap']);
      assert.equal(events.find((e) => e.type === 'task_result')!.status, 'ok');
    });

    it('prints gathered facts as JSON (ferry facts)', () => {
      const r = ferry(['facts', '-i', inv, 'all'], dir);
      assert.equal(r.code, 0, r.stderr);
      const facts = JSON.parse(r.stdout) as Record<string, { os: { family: string }; cpus: number; tools: Record<string, boolean> }>;
      const f = facts[host.name]!;
      assert.equal(f.os.family, 'debian');
      assert.ok(f.cpus >= 1);
      assert.equal(typeof f.tools.rsync, 'boolean');
    });

    it('exits 2 when a task fails on a host', () => {
      const r = ferry(['exec', '-i', inv, 'all', '-m', 'command', '-a', 'false', '--plain'], dir);
      assert.equal(r.code, 2);
      assert.match(r.stdout, /failed: \[sshd\d+\]/);
    });

    it('creates the files it writes 0600: the run state (in a 0700 folder), --json=FILE and a new known_hosts', async () => {
      const w = join(dir, 'modes');
      const kh = join(w, 'ssh', 'known_hosts'); // neither the file nor its folder exists yet
      const invNew = join(dir, 'inv-modes.yaml');
      await writeFile(invNew, (await readFile(inv, 'utf8')).replace(host.knownHostsFile, kh));
      const pb = join(dir, 'modes.yaml');
      await writeFile(pb, '- hosts: all\n  tasks:\n    - ping:\n');
      await mkdir(w);
      const json = join(w, 'events.ndjson');
      const r = ferry(['run', pb, '-i', invNew, '--plain', '--accept-new-hosts', `--json=${json}`], w);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const mode = async (p: string) => (await stat(p)).mode & 0o777;
      const states = readdirSync(join(w, '.ferry/runs'));
      assert.equal(states.length, 1);
      assert.equal(await mode(join(w, '.ferry/runs', states[0]!)), 0o600, 'run state');
      assert.equal(await mode(join(w, '.ferry/runs')), 0o700, 'run state folder');
      assert.equal(await mode(json), 0o600, 'NDJSON file');
      assert.equal(await mode(kh), 0o600, 'known_hosts');
      assert.match(await readFile(kh, 'utf8'), /^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /, 'plain, as the new file holds no hashed line');
      // an existing --json file keeps the mode its owner gave it
      await chmod(json, 0o640);
      assert.equal(ferry(['run', pb, '-i', invNew, '--plain', `--json=${json}`], w).code, 0);
      assert.equal(await mode(json), 0o640);
      assert.match(await readFile(json, 'utf8'), /"type":"recap"/);
    });

    it('runs a playbook with -e extra vars (key=value and @file) over everything else', async () => {
      const vars = join(dir, 'vars.yaml');
      await writeFile(vars, 'who: from-file\n');
      const pb = join(dir, 'extra.yaml');
      await writeFile(pb, `- hosts: all\n  vars: { who: play, out: ${JSON.stringify(join(dir, 'extra-out'))} }\n  tasks:\n    - copy: { dest: "{{ out }}", content: "{{ who }} {{ n }}" }\n`);
      const r = ferry(['run', pb, '-i', inv, '-e', '@' + vars, '-e', 'n=7', '--plain'], dir);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(await readFile(join(dir, 'extra-out'), 'utf8'), 'from-file 7');
    });
  });
});
