// The CLI: exit codes; ferry doc; ferry exec against a real sshd; ferry inventory --list. Bad input
// (exit 4 with file:line, no host contacted) is the corpus of bad-input.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, chmod, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inventoryEntry, NOPASSWD_USER, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { runOnPty } from '../helpers/pty.js';
import { startTrap, type Trap } from '../helpers/trap.js';

const ROOT = resolve(import.meta.dirname, '../..');

// The built CLI, as a user runs it (`npm test` builds first).
const CLI = join(ROOT, 'dist/app/cli.js');

function ferry(args: string[], cwd = ROOT): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ferry CLI @integration', function () {
  this.timeout(60_000);
  let dir: string;
  let trap: Trap;
  let trapInv: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    await chmod(dir, 0o777);
    // A host that counts connections: a task that names an unknown host must not reach it.
    trap = await startTrap();
    trapInv = join(dir, 'trap.yaml');
    await writeFile(trapInv, `all:\n  children:\n    hypervisors:\n      hosts:\n        hv1:\n          ansible_host: 127.0.0.1\n          ansible_port: ${trap.port}\n`);
  });
  after(async () => {
    await trap.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails the task, contacting nothing, when a templated delegate_to names a host the inventory lacks', async () => {
    const pb = join(dir, 'tpl-delegate.yaml');
    await writeFile(pb, "- hosts: all\n  gather_facts: false\n  vars: { target: hv-2 }\n  tasks:\n    - ping:\n      delegate_to: '{{ target }}'\n");
    const r = ferry(['run', pb, '-i', trapInv, '--plain'], dir);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stdout, /'hv-2' is not a host of the inventory/);
    assert.equal((await trap.contacts()), 0, 'a host was contacted');
  });

  it('-T (or ansible.cfg timeout, or ansible_timeout) is how long a connection may take; a bad -T is refused before any host is contacted', async () => {
    // the trap accepts the TCP connection and never speaks SSH: the handshake times out
    const t1 = ferry(['exec', 'hv1', '-m', 'ping', '-i', trapInv, '--plain', '-T', '1'], dir);
    assert.equal(t1.code, 3, t1.stderr + t1.stdout);
    assert.match(t1.stdout, /hv1.*UNREACHABLE[\s\S]*SSH handshake with 127\.0\.0\.1:\d+ timed out after 1s/);
    const contacts = await trap.contacts();
    assert.ok(contacts >= 1, 'the trap was not contacted');
    const bad = ferry(['exec', 'hv1', '-m', 'ping', '-i', trapInv, '--plain', '-T', 'soon'], dir);
    assert.equal(bad.code, 4, bad.stderr + bad.stdout);
    assert.match(bad.stderr, /<command line>:1: -T\/--timeout 'soon' is not a number of seconds greater than 0/);
    assert.equal((await trap.contacts()), contacts, 'a bad -T contacted a host');
    // ansible.cfg's [defaults] timeout, as Ansible reads it; the inventory's ansible_timeout wins over it
    const cfgDir = join(dir, 'cfg-timeout');
    spawnSync('mkdir', ['-p', cfgDir]);
    // (the shortest waits that tell the three apart: ansible.cfg takes whole seconds, a variable may be 0.5)
    spawnSync('sh', ['-c', `printf '[defaults]\\ntimeout = 1\\n' > ${cfgDir}/ansible.cfg`]);
    const t2 = ferry(['exec', 'hv1', '-m', 'ping', '-i', trapInv, '--plain'], cfgDir);
    assert.match(t2.stdout, /timed out after 1s/, t2.stderr + t2.stdout);
    const t3 = ferry(['exec', 'hv1', '-m', 'ping', '-i', trapInv, '--plain', '-e', 'ansible_timeout=0.5'], cfgDir);
    assert.match(t3.stdout, /timed out after 0\.5s/, t3.stderr + t3.stdout);
  });

  it('lists modules and documents one from its schema', () => {
    const list = ferry(['doc']);
    assert.equal(list.code, 0);
    for (const m of ['command', 'shell', 'copy', 'template', 'ping', 'set', 'debug', 'group', 'user', 'unarchive']) assert.match(list.stdout, new RegExp(`^${m}\\s`, 'm'));
    const copy = ferry(['doc', 'copy']);
    assert.equal(copy.code, 0);
    assert.match(copy.stdout, /PARAMETERS/);
    assert.match(copy.stdout, /^ {2}dest\s+\(string; required\)/m);
    assert.match(copy.stdout, /EXAMPLE/);
    // What unarchive compares, and that user never shows the password, are documented.
    assert.match(ferry(['doc', 'unarchive']).stdout, /What is compared: creates first .*tar --diff/);
    assert.match(ferry(['doc', 'user']).stdout, /NOT_LOGGING_PASSWORD/);
    // A list of mappings shows its keys under it, as ansible-doc shows suboptions.
    assert.match(
      ferry(['doc', 'virsh_define']).stdout,
      /^ {2}disks {2}\(list of object; default \[\]\)\n {6}Disks, in boot order.*\n {6}- source {2}\(string; required\)\n {12}The block device/m,
    );
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

    it('runs an ad-hoc module (ferry exec) and prints each host as `ansible` does, also with -v; exits 0', () => {
      for (const v of [[], ['-v']]) {
        const r = ferry(['exec', '-i', inv, 'all', '-m', 'command', '-a', 'sh -c "uname -s; echo oops >&2"', ...v], dir);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${host.name} | CHANGED | rc=0 >>\nLinux\noops\n`);
      }
      const ping = ferry(['exec', '-i', inv, 'all', '-m', 'ping'], dir);
      assert.equal(ping.code, 0, ping.stderr);
      assert.equal(ping.stdout, `${host.name} | SUCCESS => {\n    "changed": false,\n    "msg": "pong",\n    "ping": "pong"\n}\n`);
    });

    it('ferry exec -vvv shows each command it runs, secrets masked', () => {
      const r = ferry(['exec', '-i', inv, 'all', '-m', 'shell', '-a', 'echo one', '-vvv', '-e', 'db_password=hush-hush'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^<${host.name}> EXEC .*echo one`, 'm'));
      assert.match(r.stdout, new RegExp(`^${host.name} \\| CHANGED \\| rc=0 >>\none$`, 'm'));
      const masked = ferry(['exec', '-i', inv, 'all', '-m', 'shell', '-a', 'echo {{ db_password }} >/dev/null', '-vvv', '-e', 'db_password=hush-hush'], dir);
      assert.equal(masked.code, 0, masked.stderr);
      assert.match(masked.stdout, /EXEC .*echo \*{8} >\/dev\/null/);
      assert.doesNotMatch(masked.stdout + masked.stderr, /hush-hush/);
      // -vvv with a playbook: the commands under their task
      const pb = join(dir, 'vvv.yaml');
      return writeFile(pb, '- hosts: all\n  tasks:\n    - command: echo two\n').then(() => {
        const run = ferry(['run', pb, '-i', inv, '-vvv'], dir);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, new RegExp(`TASK \\[command\\][^\\n]*\\n<${host.name}> EXEC .*echo two\\nchanged: \\[${host.name}\\]\\n {4}=> \\{.*"stdout":"two"`));
      });
    });

    it('shows the run live with listr2 on a terminal (a pty), ending with the recap table', async () => {
      const pb = join(dir, 'pty-ping.yaml');
      await writeFile(pb, '- hosts: all\n  tasks:\n    - ping:\n');
      const r = runOnPty([process.execPath, CLI, 'run', pb, '-i', inv], dir);
      assert.equal(r.status, 0, r.raw + r.stderr);
      const screen = r.screen;
      assert.match(screen, /✔/);
      assert.match(screen, new RegExp(`${host.name}: ok`));
      assert.match(screen, /PLAY RECAP/);
      assert.match(screen, /HOST\s+ok\s+changed\s+unreachable\s+failed/);
      assert.notEqual(screen, r.raw, 'colours on a terminal');
    });

    it('past a screenful of hosts, draws each task as one line of counts and keeps the failures under it', async () => {
      // 20 inventory hosts on the one sshd, and one whose port nothing listens on
      const aliases: Record<string, Record<string, string | number>> = {};
      for (let i = 1; i <= 20; i++) {
        aliases[`web${String(i).padStart(2, '0')}`] = inventoryEntry(host);
      }
      aliases.gone = { ...aliases.web01!, ansible_port: 1 };
      const wide = join(dir, 'wide');
      await mkdir(wide, { recursive: true });
      const inv = await writeInventory([], wide, NOPASSWD_USER, aliases);
      const pb = join(wide, 'wide.yaml');
      await writeFile(pb, "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n    - command: \"{{ 'false' if inventory_hostname == 'web07' else 'true' }}\"\n    - debug: { msg: 'said by {{ inventory_hostname }}' }\n      when: inventory_hostname == 'web03'\n");
      // 24 rows leave 18 for hosts: 21 hosts collapse
      const small = runOnPty([process.execPath, CLI, 'run', pb, '-i', inv], wide, { cols: 120, rows: 24 });
      assert.equal(small.status, 2, small.raw + small.stderr);
      const screen = small.screen;
      assert.match(screen, /command .*wide\.yaml:4:\d+ {2}21 hosts: 20 changed, 1 unreachable/);
      assert.match(screen, /gone: unreachable: .*refused/);
      assert.match(screen, /command .*wide\.yaml:5:\d+ {2}20 hosts: 19 changed, 1 failed/);
      assert.match(screen, /web07: failed: .*exit 1/);
      assert.match(screen, /debug .*wide\.yaml:6:\d+ {2}19 hosts: 1 ok, 18 skipped/);
      assert.match(screen, /web03: said by web03/);
      assert.doesNotMatch(screen, /web0[1-6]: (changed|ok)/, 'a line per host although they do not fit');
      assert.match(screen, /PLAY RECAP/);
      // a terminal with room for every host draws a line per host, as before
      const tall = runOnPty([process.execPath, CLI, 'run', pb, '-i', inv], wide, { cols: 120, rows: 40 });
      assert.equal(tall.status, 2, tall.raw + tall.stderr);
      assert.match(tall.screen, /web01: changed/);
      assert.doesNotMatch(tall.screen, /\d+ hosts: /);
    });

    it('prints NDJSON events with --json', () => {
      const r = ferry(['exec', '-i', inv, 'all', '-m', 'ping', '--json'], dir);
      assert.equal(r.code, 0, r.stderr);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; status?: string; result?: unknown });
      assert.deepEqual([...new Set(events.map((e) => e.type))], ['run_start', 'play_start', 'task_start', 'task_result', 'recap']);
      assert.equal(events.find((e) => e.type === 'task_result')!.status, 'ok');
      assert.deepEqual(events.find((e) => e.type === 'task_result')!.result, { ping: 'pong', changed: false, failed: false, msg: 'pong' });
      const cmd = ferry(['exec', '-i', inv, 'all', '-m', 'command', '-a', 'sh -c "echo out; echo err >&2; exit 3"', '--json'], dir);
      assert.equal(cmd.code, 2);
      const failed = cmd.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; result?: Record<string, unknown> }).find((e) => e.type === 'task_result')!;
      assert.deepEqual([failed.result?.stdout, failed.result?.stderr, failed.result?.rc], ['out', 'err', 3]);
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
      assert.match(r.stdout, new RegExp(`^${host.name} \\| FAILED \\| rc=1 >>\n`));
      const copy = ferry(['exec', '-i', inv, 'all', '-m', 'copy', '-a', 'src=/nonexistent dest=/tmp/x'], dir);
      assert.equal(copy.code, 2);
      assert.match(copy.stdout, new RegExp(`^${host.name} \\| FAILED! => \\{\n {4}"changed": false,\n[^]*"msg": "`));
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
      // only the state folder is private: a parent it made (.ferry) is an ordinary folder, so a folder
      // that also holds other files (the lab's /var/tmp/ferry-lab: an image libvirt's qemu opens) stays open
      assert.equal(await mode(join(w, '.ferry')), 0o777 & ~process.umask(), 'the parent ferry made for it');
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
