import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { becomeVarsOf, connectionVarsOf, layerConnectionVars } from '../../runner/inventory/connection.js';
import { ValidationError } from '../../runner/errors.js';
import { sshOptionsFor as sshOptionsFromVars, transportForHost } from '../../runner/connections.js';
import { LocalTransport } from '../../runner/transport/local.js';
import { SshTransport } from '../../runner/transport/ssh.js';

describe('connections: the transport for an inventory host', () => {
  it('maps Ansible connection variables to SSH options, secrets kept secret', () => {
    const o = sshOptionsFromVars(
      'web1',
      {
        ansible_host: '10.0.0.5',
        ansible_port: 2222,
        ansible_user: 'deploy',
        ansible_ssh_private_key_file: '/keys/id',
        ansible_password: 'pw',
        ferry_known_hosts_file: '/kh',
        ferry_proxy_jump: 'bastion',
      },
      { acceptNewHosts: true, sshConfigFile: false },
    );
    assert.equal(JSON.stringify(o.password), '"********"');
    assert.equal(o.password?.value, 'pw');
    const { password: _pw, ...rest } = o;
    assert.deepEqual(rest, {
      host: 'web1',
      hostName: '10.0.0.5',
      port: 2222,
      user: 'deploy',
      identityFiles: ['/keys/id'],
      knownHostsFile: '/kh',
      proxyJump: 'bastion',
      acceptNewHosts: true,
      sshConfigFile: false,
    });
  });

  it('reports every bad variable at once, naming the host', () => {
    assert.throws(
      () => sshOptionsFromVars('db', { ansible_port: 'ssh', ansible_user: ['a'] }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(
          e.problems.map((p) => p.message).sort(),
          ["host 'db': ansible_user must be a single value, got a list", "host 'db': ansible_port 'ssh' is not a TCP port number (1-65535)"].sort(),
        );
        return true;
      },
    );
  });

  it('turns the persistent shell on or off with ferry_persistent_shell (unset: the transport decides)', () => {
    assert.equal(sshOptionsFromVars('web1', { ferry_persistent_shell: 'yes' }).persistentShell, true);
    assert.equal(sshOptionsFromVars('web1', { ferry_persistent_shell: false }).persistentShell, false);
    assert.equal('persistentShell' in sshOptionsFromVars('web1', {}), false);
    assert.throws(
      () => sshOptionsFromVars('web1', { ferry_persistent_shell: 'maybe' }),
      (e: unknown) => e instanceof ValidationError && e.problems[0]?.message === "host 'web1': ferry_persistent_shell must be a boolean, got 'maybe'",
    );
    // -e beats the inventory, as for every connection variable
    assert.deepEqual(layerConnectionVars([{ ferry_persistent_shell: true }, { ferry_persistent_shell: false }]), { ferry_persistent_shell: false });
  });

  it('waits ansible_timeout (or ansible_ssh_timeout, ferry_timeout) seconds for a connection; the host\'s variable wins over the default', () => {
    assert.equal(sshOptionsFromVars('web1', { ansible_timeout: 30 }).connectTimeoutMs, 30_000);
    assert.equal(sshOptionsFromVars('web1', { ansible_ssh_timeout: '2.5' }).connectTimeoutMs, 2500);
    assert.equal(sshOptionsFromVars('web1', { ferry_timeout: 60, ansible_timeout: 5 }).connectTimeoutMs, 60_000);
    assert.equal(sshOptionsFromVars('web1', { ansible_timeout: 30 }, { connectTimeoutMs: 1000 }).connectTimeoutMs, 30_000);
    assert.equal(sshOptionsFromVars('web1', {}, { connectTimeoutMs: 1000 }).connectTimeoutMs, 1000);
    assert.equal('connectTimeoutMs' in sshOptionsFromVars('web1', {}), false);
    for (const bad of ['0', 'soon', '-5']) {
      assert.throws(
        () => sshOptionsFromVars('web1', { ansible_timeout: bad }),
        (e: unknown) => e instanceof ValidationError && e.problems[0]?.message === `host 'web1': ansible_timeout '${bad}' is not a number of seconds greater than 0`,
      );
    }
    // -T gives ferry_timeout below the inventory: the inventory's ansible_timeout wins, -e beats both
    assert.deepEqual(layerConnectionVars([{ ferry_timeout: '60' }, { ansible_timeout: 5 }, {}]), { ansible_timeout: 5 });
    assert.deepEqual(layerConnectionVars([{ ferry_timeout: '60' }, { ansible_timeout: 5 }, { ansible_ssh_timeout: 9 }]), { ansible_ssh_timeout: 9 });
  });

  it('runs localhost and ferry_connection: local on the controller', () => {
    assert.ok(transportForHost('x', { ferry_connection: 'local' }) instanceof LocalTransport);
    assert.ok(transportForHost('localhost', { ansible_connection: 'ssh' }) instanceof SshTransport);
    assert.ok(transportForHost('localhost', {}) instanceof LocalTransport);
    assert.ok(transportForHost('x', { ansible_host: 'h' }) instanceof SshTransport);
  });
});

describe('connections: the port when the inventory gives none', () => {
  it('is ssh_config\'s Port for the host (the transport resolves it), else 22', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-sshcfg-'));
    try {
      const cfg = join(dir, 'config');
      writeFileSync(cfg, 'Host web1\n  Port 2222\n  HostName 127.0.0.1\n');
      const o = sshOptionsFromVars('web1', {}, { sshConfigFile: cfg });
      assert.equal(o.port, undefined);
      assert.equal(new SshTransport(o).resolve().port, 2222);
      assert.equal(new SshTransport(sshOptionsFromVars('web2', {}, { sshConfigFile: cfg })).resolve().port, 22);
      assert.equal(new SshTransport(sshOptionsFromVars('web1', { ansible_port: 2200 }, { sshConfigFile: cfg })).resolve().port, 2200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connections: precedence of the command line, the inventory and -e', () => {
  const cases: [string, Record<string, unknown>[], Record<string, unknown>][] = [
    ['-u under the inventory\'s ansible_user', [{ ferry_user: 'cli' }, { ansible_user: 'inv' }, {}], { ansible_user: 'inv' }],
    ['-u when the inventory names no user', [{ ferry_user: 'cli' }, { ansible_host: 'h' }, {}], { ansible_host: 'h', ferry_user: 'cli' }],
    ['-e ansible_user over the inventory\'s ferry_user', [{}, { ferry_user: 'inv' }, { ansible_user: 'extra' }], { ansible_user: 'extra' }],
    ['within a layer, the ferry_ name wins', [{}, { ansible_port: 1, ferry_port: 2 }, {}], { ferry_port: 2 }],
    ['an empty value sets nothing', [{ ferry_user: 'cli' }, { ansible_user: '' }, {}], { ferry_user: 'cli' }],
    ['-e ferry_port over ansible_ssh_port', [{}, { ansible_ssh_port: 2200 }, { ferry_port: 2222 }], { ferry_port: 2222 }],
  ];
  for (const [name, layers, want] of cases) {
    it(name, () => {
      assert.deepEqual(layerConnectionVars(layers), want);
    });
  }
});

describe('connections: becomeVarsOf, the become variables found by name', () => {
  const BECOME = /^(ferry|ansible)_become(_user|_password|_pass)?$/;
  const cases: [string, Record<string, unknown>][] = [
    ['none among other variables', { ansible_host: 'h', ansible_user: 'u', x: 1 }],
    ['each name, set', { ferry_become: true, ansible_become: 'yes', ferry_become_user: 'a', ansible_become_user: 'b', ferry_become_password: 'p', ansible_become_password: 'q', ansible_become_pass: 'r', ansible_port: 22 }],
    ['empty, null and undefined values set nothing; false and 0 do', { ansible_become: '', ferry_become_user: null, ansible_become_user: undefined, ferry_become: false, ansible_become_pass: 0 }],
    ['a name only like a become variable', { ansible_become_method: 'su', become: true, ferry_become_flags: '-H' }],
  ];
  for (const [name, vars] of cases) {
    it(`keeps what connectionVarsOf keeps of them: ${name}`, () => {
      const want = Object.fromEntries(Object.entries(connectionVarsOf(vars)).filter(([k]) => BECOME.test(k)));
      assert.deepEqual(becomeVarsOf(vars), want);
    });
  }
  it('reads own variables only, not inherited ones', () => {
    assert.deepEqual(becomeVarsOf(Object.create({ ansible_become: true }) as Record<string, unknown>), {});
  });
});
