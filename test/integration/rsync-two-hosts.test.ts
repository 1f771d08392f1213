// rsync between two real sshd hosts that share no SSH trust: the client on the destination pulls
// from an `rsync --server --sender` on the source, relayed through the controller.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import { secret } from '../../runner/command.js';
import type { PeerHost, Plan, Progress } from '../../runner/module.js';
import type { BecomeOptions } from '../../runner/transport/types.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { rsyncModule } from '../../tasks/rsync.js';
import { NOPASSWD_USER, PASSWORD_USER, startSshdHosts, writeInventory, sshTransport, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';
import { runModule } from '../helpers/run-module.js';

const sh = (cmd: string, ...args: string[]): string => execFileSync('sh', ['-c', cmd, 'sh', ...args]).toString().trim();

/** What differs between two trees, by rsync's own comparison on this machine (nothing when equal). */
const treeDiff = (a: string, b: string): string => sh('rsync -n -i -aAXH --numeric-ids --delete "$1/" "$2/"', a, b);

describe('rsync between two hosts through the controller @integration @slow', function () {
  this.timeout(120_000);
  let hosts: SshdHost[] = [];
  let dir: string;
  let progress: Progress[] = [];

  /** Transports logging in as `user` on each host, with `become` for both. */
  function connect(user: string): SshTransport[] {
    return hosts.map((h) => sshTransport(h, user));
  }
  let plain: SshTransport[] = [];
  let withPassword: SshTransport[] = [];

  /** Plans (and applies unless check) rsync on host 0 with src_host = host 0 and dest_host = host 1. */
  async function run(ts: SshTransport[], become: BecomeOptions, input: Record<string, unknown>, check = false): Promise<{ plan: Plan; data: Record<string, unknown> }> {
    const [a, b] = ts as [SshTransport, SshTransport];
    return runModule(rsyncModule, { src_host: a.host, dest_host: b.host, ...input }, {
      transport: a,
      become,
      check,
      onProgress: (p) => progress.push(p),
      peer: async (name: string): Promise<PeerHost> => ({ name, transport: name === a.host ? a : b, become, vars: {} }),
    });
  }

  /** A small root filesystem: owners by number, a hard link, a symlink, modes, a name with spaces, what rootfs excludes. */
  function makeTree(root: string): void {
    sh(
      [
        'mkdir -p "$1/etc" "$1/proc/1" "$1/tmp" "$1/dir with space" "$1/var/lib"',
        'echo xr1 > "$1/etc/hostname"',
        'echo junk > "$1/proc/1/status" && echo junk > "$1/tmp/scratch"',
        'head -c 3000000 /dev/urandom > "$1/var/lib/big"',
        'ln "$1/var/lib/big" "$1/var/lib/big-hardlink"',
        'ln -s ../etc/hostname "$1/var/hostname-link"',
        'echo secret > "$1/etc/shadow" && chmod 0640 "$1/etc/shadow" && chown 0:42 "$1/etc/shadow"',
        'echo mine > "$1/dir with space/owned" && chown 1234:5678 "$1/dir with space/owned"',
      ].join(' && '),
      root,
    );
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'ferry-rsync2-'));
    chmodSync(dir, 0o755);
    hosts = await startSshdHosts(2);
    plain = connect(NOPASSWD_USER);
    withPassword = connect(PASSWORD_USER);
  });
  after(async () => {
    for (const t of [...plain, ...withPassword]) await t.close().catch(() => undefined);
    for (const h of hosts) await h.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => (progress = []));

  it('check mode itemizes and writes nothing; the copy keeps owners, modes and links; a second run is no change', async () => {
    const src = join(dir, 'src1');
    const dest = join(dir, 'dest1');
    makeTree(src);
    const p = { src: `${src}/`, dest: `${dest}/`, preset: 'rootfs' };
    const check = await run(plain, {}, p, true);
    assert.equal(check.plan.changed, true);
    assert.match(check.plan.diff![0]!.after, /etc\/hostname/);
    assert.match(check.plan.diff![0]!.after, /dir with space\/owned/);
    assert.equal(existsSync(dest), false, 'check mode created the destination');

    const { plan, data } = await run(plain, {}, p);
    assert.match((plan as { steps: { title: string }[] }).steps[0]!.title, /sshd\d+:.*src1\/ to sshd\d+:.*dest1\/ through the controller/);
    assert.ok((data.changes as number) >= 8, JSON.stringify(data));
    assert.equal(readFileSync(join(dest, 'etc/hostname'), 'utf8'), 'xr1\n');
    assert.equal(existsSync(join(dest, 'proc/1')), false, 'the rootfs preset excludes /proc/*');
    assert.equal(existsSync(join(dest, 'tmp/scratch')), false, 'the rootfs preset excludes /tmp/*');
    // owners by number, the mode, the hard link and the symlink survive the relay
    assert.equal(sh('stat -c %u:%g "$1"', join(dest, 'dir with space/owned')), '1234:5678');
    assert.equal(sh('stat -c %a:%u:%g "$1"', join(dest, 'etc/shadow')), '640:0:42');
    assert.equal(statSync(join(dest, 'var/lib/big')).ino, statSync(join(dest, 'var/lib/big-hardlink')).ino);
    assert.equal(sh('readlink "$1"', join(dest, 'var/hostname-link')), '../etc/hostname');
    assert.equal(sh('cmp "$1" "$2" && echo same', join(src, 'var/lib/big'), join(dest, 'var/lib/big')), 'same');
    assert.equal(treeDiff(src, dest).split('\n').filter((l) => !/ (proc|tmp)\/./.test(l) && l.trim()).join('\n'), '');
    assert.ok(progress.some((x) => (x.bytes ?? 0) >= 3000000), `progress from --info=progress2: ${JSON.stringify(progress)}`);

    const again = await run(plain, {}, p);
    assert.equal(again.plan.changed, false);
    assert.match((again.plan as { reason: string }).reason, /finds nothing to copy from sshd\d+:/);
  });

  it('delete: true removes what the source no longer has, and the source is never written', async () => {
    const src = join(dir, 'src2');
    const dest = join(dir, 'dest2');
    makeTree(src);
    await run(plain, {}, { src: `${src}/`, dest: `${dest}/` });
    writeFileSync(join(dest, 'only-in-dest'), 'x');
    sh('rm "$1/etc/hostname" && echo changed > "$1/var/lib/new"', src);
    const before = sh('cd "$1" && find . -printf "%p %s %T@ %m\\n" | sort | sha256sum', src);
    const check = await run(plain, {}, { src: `${src}/`, dest: `${dest}/`, delete: true }, true);
    assert.match(check.plan.diff![0]!.after, /\*deleting +only-in-dest/);
    assert.match(check.plan.diff![0]!.after, /\*deleting +etc\/hostname/);
    await run(plain, {}, { src: `${src}/`, dest: `${dest}/`, delete: true });
    assert.equal(existsSync(join(dest, 'only-in-dest')), false);
    assert.equal(existsSync(join(dest, 'etc/hostname')), false);
    assert.equal(readFileSync(join(dest, 'var/lib/new'), 'utf8'), 'changed\n');
    assert.equal(treeDiff(src, dest), '');
    assert.equal(sh('cd "$1" && find . -printf "%p %s %T@ %m\\n" | sort | sha256sum', src), before, 'the source changed');
  });

  it('works when both ends become root with a sudo password (sudo reads it from the same stdin as the protocol)', async () => {
    const src = join(dir, 'src3');
    const dest = join(dir, 'dest3');
    makeTree(src);
    chmodSync(src, 0o700); // only root can read it: the server on the source must really run as root
    const become: BecomeOptions = { user: 'root', password: secret(hosts[0]!.users.password) };
    const { data } = await run(withPassword, become, { src: `${src}/`, dest: `${dest}/` });
    assert.ok((data.changes as number) >= 8);
    assert.equal(sh('stat -c %u:%g "$1"', join(dest, 'dir with space/owned')), '1234:5678', 'the receiver ran as root');
    assert.equal(treeDiff(src, dest), '');
    assert.equal((await run(withPassword, become, { src: `${src}/`, dest: `${dest}/` })).plan.changed, false);
  });

  it('a source that does not exist fails naming both hosts and rsync\'s message, and nothing is created', async () => {
    const dest = join(dir, 'dest4');
    await assert.rejects(run(plain, {}, { src: join(dir, 'no-such-dir') + '/', dest: `${dest}/` }), (e: Error) => {
      assert.match(e.message, /rsync on sshd\d+ pulling from sshd\d+ exited 23/);
      assert.match(e.message, /no-such-dir.*No such file or directory/);
      return true;
    });
    assert.equal(existsSync(dest), false);
  });

  it('a playbook copies between the two inventory hosts (src_host / dest_host), then reports ok', async () => {
    const src = join(dir, 'src5');
    const dest = join(dir, 'dest5');
    makeTree(src);
    const inv = await writeInventory(hosts, dir);
    const pb = join(dir, 'copy.yaml');
    writeFileSync(
      pb,
      stringify([
        {
          hosts: hosts[1]!.name,
          become: true,
          gather_facts: false,
          tasks: [{ name: 'pull the tree', rsync: { src: `${src}/`, dest: `${dest}/`, src_host: hosts[0]!.name, preset: 'rootfs' } }],
        },
      ]),
    );
    const rep = new CollectingReporter();
    const r1 = await runPlaybookFile(pb, { inventory: [inv], reporter: rep });
    assert.equal(r1.exitCode, 0, JSON.stringify(rep.results()));
    assert.equal(rep.result('pull the tree', hosts[1]!.name)?.status, 'changed');
    assert.equal(sh('stat -c %u:%g "$1"', join(dest, 'dir with space/owned')), '1234:5678');
    const rep2 = new CollectingReporter();
    const r2 = await runPlaybookFile(pb, { inventory: [inv], reporter: rep2 });
    assert.equal(r2.exitCode, 0);
    assert.equal(rep2.result('pull the tree', hosts[1]!.name)?.status, 'ok');
  });

  it('direct: the destination host connects to the source with its own ssh (its key, its known_hosts), the plan says so, and the copy is the same; without a key it can use, it fails at once naming both hosts', async () => {
    const src = join(dir, 'src-direct');
    const dest = join(dir, 'dest-direct');
    makeTree(src);
    chmodSync(src, 0o700); // only root can read it: the rsync on the source runs with sudo -n as the login user is not root
    const a = hosts[0]!;
    // sshd2's own ssh to sshd1, as its admin would set it up: a key and known_hosts of its own, no agent, no ssh_config
    const ssh = (key: string) => ['-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${a.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes'];
    const direct = (key: string) => ({ host: '127.0.0.1', port: a.port, user: NOPASSWD_USER, ssh_options: ssh(key) });
    const p = { src: `${src}/`, dest: `${dest}/`, preset: 'rootfs', direct: direct(a.userKeyFile) };
    const check = await run(plain, {}, p, true);
    assert.equal(check.plan.changed, true);
    assert.equal(existsSync(dest), false, 'check mode created the destination');
    const { plan, data } = await run(plain, {}, p);
    assert.match((plan as { steps: { title: string }[] }).steps[0]!.title, /^rsync sshd\d+:.*src-direct\/ to sshd\d+:.*dest-direct\/, (sshd\d+) connecting to (sshd\d+) itself \(direct\) \(\d+ changes\)$/);
    assert.ok((data.changes as number) >= 8, JSON.stringify(data));
    assert.equal(sh('stat -c %u:%g "$1"', join(dest, 'dir with space/owned')), '1234:5678', 'owners by number: both ends ran as root');
    assert.equal(sh('stat -c %a:%u:%g "$1"', join(dest, 'etc/shadow')), '640:0:42');
    assert.equal(statSync(join(dest, 'var/lib/big')).ino, statSync(join(dest, 'var/lib/big-hardlink')).ino);
    assert.equal(treeDiff(src, dest).split('\n').filter((l) => !/ (proc|tmp)\/./.test(l) && l.trim()).join('\n'), '');
    assert.ok(progress.some((x) => (x.bytes ?? 0) >= 3000000), `progress from --info=progress2: ${JSON.stringify(progress)}`);
    const again = await run(plain, {}, p);
    assert.equal(again.plan.changed, false);

    // a key sshd1 does not accept: BatchMode, so no prompt waits; refused in the plan, with the hosts and ssh's words
    const stranger = join(dir, 'stranger-key');
    sh('ssh-keygen -q -t ed25519 -N "" -f "$1"', stranger);
    await assert.rejects(run(plain, {}, { ...p, dest: `${dest}-2/`, direct: direct(stranger) }), (e: Error) => {
      assert.match(e.message, /rsync on sshd\d+ pulling from sshd\d+ directly \(ferrytest@127\.0\.0\.1:\d+, sshd\d+'s own ssh\)/);
      assert.match(e.message, /Permission denied \(publickey/);
      return true;
    });
    assert.equal(existsSync(`${dest}-2`), false);
  });

  it('under delegate_to, src_host naming the delegate is a copy on that host; naming another host relays it (rsync and blockcopy)', async () => {
    // The migration's shape: the play's host is a guest (no connection), each task delegated to a hypervisor.
    const src = join(dir, 'src6');
    makeTree(src);
    const disk = join(dir, 'disk6.img');
    sh('head -c 4194304 /dev/urandom > "$1" && chmod 644 "$1"', disk);
    const [a, b] = [hosts[0]!.name, hosts[1]!.name];
    const inv = await writeInventory(hosts, dir, NOPASSWD_USER, { g1: { ferry_connection: 'none' } });
    const pb = join(dir, 'delegated.yaml');
    const task = (name: string, from: string, dest: string) => ({ name, delegate_to: b, rsync: { src: `${src}/`, src_host: from, dest: `${dest}/`, preset: 'rootfs' } });
    const blocks = (name: string, from: string, dest: string) => ({ name, delegate_to: b, blockcopy: { src: disk, src_host: from, dest } });
    writeFileSync(pb, stringify([{ hosts: 'g1', become: true, gather_facts: false, tasks: [
      task('on the delegate', b, join(dir, 'dest6')), task('from the other host', a, join(dir, 'dest7')),
      blocks('blocks on the delegate', b, join(dir, 'disk6-local.img')), blocks('blocks from the other host', a, join(dir, 'disk6-relayed.img')),
    ] }]));
    const check = new CollectingReporter();
    assert.equal((await runPlaybookFile(pb, { inventory: [inv], reporter: check, check: true })).exitCode, 0, JSON.stringify(check.results()));
    const local = check.result('on the delegate', 'g1');
    const relayed = check.result('from the other host', 'g1');
    assert.equal(local?.status, 'changed');
    assert.equal(relayed?.status, 'changed');
    assert.match(String(local?.msg), new RegExp(`would run: rsync ${src}/ to `), String(local?.msg));
    assert.doesNotMatch(String(local?.msg), /through the controller/);
    assert.match(String(relayed?.msg), new RegExp(`would run: rsync ${a}:${src}/ to ${b}:.* through the controller`), String(relayed?.msg));
    assert.doesNotMatch(String(check.result('blocks on the delegate', 'g1')?.msg), /through the controller/);
    assert.match(String(check.result('blocks from the other host', 'g1')?.msg), new RegExp(`\\(${a} → ${b} through the controller\\)`));
    const rep = new CollectingReporter();
    assert.equal((await runPlaybookFile(pb, { inventory: [inv], reporter: rep })).exitCode, 0, JSON.stringify(rep.results()));
    for (const d of ['dest6', 'dest7']) assert.equal(sh('stat -c %u:%g "$1"', join(dir, d, 'dir with space/owned')), '1234:5678', d);
    // the copy on the delegate ran dd there (a relayed one reports the compression its stream chose)
    assert.equal(rep.result('blocks on the delegate', 'g1')?.result?.compression, undefined, JSON.stringify(rep.result('blocks on the delegate', 'g1')));
    assert.equal(typeof rep.result('blocks from the other host', 'g1')?.result?.compression, 'string');
    for (const d of ['disk6-local.img', 'disk6-relayed.img']) assert.equal(sh('cmp "$1" "$2" && echo same', disk, join(dir, d)), 'same', d);
  });
});
