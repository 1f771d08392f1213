// The direct copy of rsync and blockcopy (dest_host reaching src_host with its own ssh): how its ssh
// is made from the task's words and the source host's inventory variables, and what is refused.
import { strict as assert } from 'node:assert';
import { quote } from '../../runner/command.js';
import { parseParams } from '../../runner/playbook/params.js';
import { blockcopyModule, ddGeometry, directCopyCommand } from '../../tasks/blockcopy.js';
import { directSsh, sshOptionProblem } from '../../tasks/lib/direct-ssh.js';
import { directRsyncCommand, rsyncModule } from '../../tasks/rsync.js';

// as a task's arguments are parsed: text read as Ansible reads a number or a boolean
const parse = (input: Record<string, unknown>) => parseParams(rsyncModule, { src: '/mnt/old/', dest: '/mnt/new/', src_host: 'hv1', ...input }, { file: 'pb.yaml', line: 1, col: 1 });

describe('rsync direct: the destination host\'s own ssh to the source host', () => {
  it('true takes the source host\'s ansible_host, ansible_port and ansible_user; an object overrides each', () => {
    const vars = { ansible_host: '192.0.2.10', ansible_port: 2222, ansible_user: 'admin' };
    assert.deepEqual(directSsh(true, { host: 'hv1', vars, become: {} }), { host: '192.0.2.10', port: 2222, user: 'admin', sshOptions: [], sudo: true });
    assert.deepEqual(directSsh(true, { host: 'hv1', vars: {}, become: false }), { host: 'hv1', port: 22, user: 'root', sshOptions: [], sudo: false });
    const d = parse({ direct: { host: '10.0.2.2', port: 40022, ssh_options: ['-i', '/root/.ssh/id_move'] } }).direct;
    assert.deepEqual(directSsh(d, { host: 'hv1', vars, become: {} }), { host: '10.0.2.2', port: 40022, user: 'admin', sshOptions: ['-i', '/root/.ssh/id_move'], sudo: true });
    // as -e key=value gives it: text read as Ansible reads a boolean
    assert.equal(parse({ direct: 'true' }).direct, true);
    assert.equal(parse({ direct: 'no' }).direct, false);
    assert.equal(parse({}).direct, false);
    assert.throws(() => parse({ direct: 'sometimes' }));
    // root needs no sudo; false is no direct copy
    assert.equal(directSsh(true, { host: 'hv1', vars: { ansible_user: 'root' }, become: {} })!.sudo, false);
    assert.equal(directSsh(false, { host: 'hv1', vars, become: {} }), undefined);
  });

  it('the command runs rsync with ferry\'s ssh as -e, sudo -n as the rsync path when the login is not root, and user@host:src as the only remote spec', () => {
    const p = parse({ direct: true, preset: 'rootfs' });
    const cmd = directRsyncCommand(p, '--info=progress2', { host: 'fe80::1', port: 22, user: 'admin', sshOptions: ['-o', 'StrictHostKeyChecking=accept-new'], sudo: true });
    assert.match(cmd.display, /^rsync --info=progress2 .* -aAXH --numeric-ids -e 'ssh -o BatchMode=yes -p 22 -o StrictHostKeyChecking=accept-new' '--rsync-path=sudo -n rsync' -- 'admin@\[fe80::1\]:\/mnt\/old\/' \/mnt\/new\/$/);
    // without sudo no rsync path: the login's own rsync
    assert.doesNotMatch(directRsyncCommand(p, '--dry-run', { host: 'hv1', port: 22, user: 'root', sshOptions: [], sudo: false }).display, /rsync-path/);
  });

  it('refuses ssh words rsync would split or quote, and host or user names that are options or two words', () => {
    assert.equal(sshOptionProblem('-i'), undefined);
    assert.equal(sshOptionProblem('UserKnownHostsFile=/etc/ferry/known_hosts'), undefined);
    for (const bad of ['-o ProxyCommand=x', "it's", '"q"', 'a\tb', '']) assert.match(sshOptionProblem(bad) ?? '', /one word/, bad);
    assert.throws(() => parse({ direct: { ssh_options: ['-o ProxyCommand=nc %h %p'] } }), /one word of letters/);
    assert.throws(() => parse({ direct: { host: '-oProxyCommand=x' } }), /'-oProxyCommand=x' starts with '-', so the command would read it as an option/);
    assert.throws(() => parse({ direct: { user: 'a b' } }), /one word/);
    assert.throws(() => directSsh(true, { host: 'hv1', vars: { ansible_host: '-F/tmp/evil' }, become: {} }), /direct copy from hv1: its host '-F\/tmp\/evil'/);
    assert.throws(() => directSsh(true, { host: 'hv1', vars: { ansible_port: 'ssh' }, become: {} }), /its port 'ssh' is not a port number/);
  });
});

describe("blockcopy direct: the destination host's pipeline", () => {
  const via = { host: '10.0.2.2', port: 2222, user: 'admin', sshOptions: ['-i', '/root/.ssh/id_move'], sudo: true };
  const p = { src: '/dev/vg1/web1-disk', dest: '/dev/vg1/web1 disk' };

  it("runs the reader on the source through its own ssh, under sudo -n for a login that is not root, and the writer's dd reports on stdout", () => {
    const reader = 'dd if=/dev/vg1/web1-disk bs=4194304 count=2 iflag=fullblock status=progress | zstd -q -c -T0 -3';
    assert.equal(
      directCopyCommand(p, ddGeometry(8 * 2 ** 20), via, 'zstd').text,
      `ssh -o BatchMode=yes -p 2222 -i /root/.ssh/id_move -- admin@10.0.2.2 ${quote(`sudo -n sh -c ${quote(reader)}`)} | zstd -q -d -c | dd 'of=/dev/vg1/web1 disk' bs=4194304 iflag=fullblock conv=notrunc,fsync 2>&1`,
    );
    assert.equal(
      directCopyCommand(p, ddGeometry(3 * 2 ** 20 + 512), { ...via, user: 'root', sudo: false }, 'none').text,
      "ssh -o BatchMode=yes -p 2222 -i /root/.ssh/id_move -- root@10.0.2.2 'dd if=/dev/vg1/web1-disk bs=4194304 count=3146240 iflag=fullblock,count_bytes status=progress' | dd 'of=/dev/vg1/web1 disk' bs=4194304 iflag=fullblock conv=notrunc,fsync 2>&1",
    );
  });

  it('takes direct as rsync does: text read as a boolean, the same refusals', () => {
    const parse = (direct: unknown) => parseParams(blockcopyModule, { src: '/dev/a', dest: '/dev/b', src_host: 'hv1', direct }, { file: 'pb.yaml', line: 1, col: 1 });
    assert.equal(parse('yes').direct, true);
    assert.equal(parse('off').direct, false);
    assert.throws(() => parse({ host: '-oProxyCommand=x' }), /'-oProxyCommand=x' starts with '-', so the command would read it as an option/);
    assert.throws(() => parse({ ssh_options: ['-o ProxyCommand=nc %h %p'] }), /one word of letters/);
  });
});
