// Connection variables: ferry_* names, then Ansible's names, then defaults.
import { strict as assert } from 'node:assert';
import { ValidationError } from '../../runner/errors.js';
import { connectionOf, loadInventory } from '../../runner/inventory/index.js';
import { corpus } from '../helpers/corpora.js';

describe('inventory: connection variables', function () {
  const table: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['defaults: the inventory name over ssh, no port (ssh_config\'s Port, else 22)', { inventory_hostname: 'hv1' }, { host: 'hv1', connection: 'ssh' }],
    ['localhost without a connection var is local', { inventory_hostname: 'localhost' }, { host: 'localhost', connection: 'local' }],
    [
      'localhost with ansible_connection=ssh stays ssh',
      { inventory_hostname: 'localhost', ansible_connection: 'ssh' },
      { host: 'localhost', connection: 'ssh' },
    ],
    [
      'Ansible names',
      {
        inventory_hostname: 'hv1',
        ansible_host: '192.0.2.10',
        ansible_port: 2222,
        ansible_user: 'root',
        ansible_ssh_private_key_file: '~/.ssh/id_ed25519',
        ansible_become: 'yes',
        ansible_become_user: 'admin',
        ansible_become_pass: 's3cret',
        ansible_ssh_pass: 'pw',
      },
      {
        host: '192.0.2.10',
        port: 2222,
        user: 'root',
        privateKeyFile: '~/.ssh/id_ed25519',
        connection: 'ssh',
        become: true,
        becomeUser: 'admin',
        becomePassword: 's3cret',
        password: 'pw',
      },
    ],
    [
      'old ansible_ssh_* names',
      { inventory_hostname: 'h', ansible_ssh_host: '10.0.0.1', ansible_ssh_port: '2200', ansible_ssh_user: 'u', ansible_private_key_file: 'k' },
      { host: '10.0.0.1', port: 2200, user: 'u', privateKeyFile: 'k', connection: 'ssh' },
    ],
    [
      'ferry_* win over ansible_*',
      {
        inventory_hostname: 'h',
        ansible_host: 'a',
        ferry_host: 'f',
        ansible_port: 1,
        ferry_port: 2,
        ansible_user: 'a',
        ferry_user: 'f',
        ansible_connection: 'ssh',
        ferry_connection: 'local',
        ansible_become_password: 'a',
        ferry_become_password: 'f',
        ansible_password: 'a',
        ferry_password: 'f',
        ansible_ssh_private_key_file: 'a',
        ferry_private_key_file: 'f',
        ferry_known_hosts_file: '/tmp/kh',
      },
      {
        host: 'f',
        port: 2,
        user: 'f',
        connection: 'local',
        becomePassword: 'f',
        password: 'f',
        privateKeyFile: 'f',
        knownHostsFile: '/tmp/kh',
      },
    ],
    [
      'ansible_become_password wins over ansible_become_pass; become false',
      { inventory_hostname: 'h', ansible_become_password: 'new', ansible_become_pass: 'old', ansible_become: false },
      { host: 'h', connection: 'ssh', becomePassword: 'new', become: false },
    ],
    ['paramiko means ssh', { inventory_hostname: 'h', ansible_connection: 'paramiko' }, { host: 'h', connection: 'ssh' }],
  ];
  for (const [why, vars, want] of table) {
    it(why, function () {
      assert.deepEqual(connectionOf(vars), want);
    });
  }

  it('reports every bad value at once, naming the host', function () {
    assert.throws(
      () => connectionOf({ inventory_hostname: 'hv9', ansible_port: 'ssh', ansible_connection: 'winrm', ansible_become: 'maybe' }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(
          e.problems.map((p) => p.message),
          [
            "host 'hv9': ansible_port 'ssh' is not a TCP port number (1-65535)",
            "host 'hv9': ansible_connection 'winrm' is not supported (use ssh, local or none)",
            "host 'hv9': ansible_become must be a boolean, got 'maybe'",
          ],
        );
        return true;
      },
    );
  });

  const ports: [unknown, number | undefined][] = [
    [2222, 2222], ['2222', 2222], [' 22 ', 22], [22.0, 22], [65535, 65535],
    ['0x16', undefined], ['2e1', undefined], ['22.5', undefined], [0, undefined], [65536, undefined], [-1, undefined], ['ssh', undefined],
  ];
  for (const [value, want] of ports) {
    it(`ferry_port ${JSON.stringify(value)} is ${want === undefined ? 'refused' : want}`, function () {
      const vars = { inventory_hostname: 'h', ferry_port: value };
      if (want !== undefined) assert.equal(connectionOf(vars).port, want);
      else assert.throws(() => connectionOf(vars), (e: unknown) => e instanceof ValidationError && /ferry_port .* is not a TCP port number/.test(e.message));
    });
  }

  it('refuses an address with a blank or a leading dash, naming where the variable is written', function () {
    const where = { file: 'group_vars/all.yml', line: 3 };
    assert.throws(
      () => connectionOf({ inventory_hostname: 'h', ansible_host: '-oProxyCommand=x' }, (v) => (v === 'ansible_host' ? where : undefined)),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.problems[0]?.loc, where);
        assert.match(e.problems[0]!.message, /^host 'h': ansible_host "-oProxyCommand=x" is not a host name or address$/);
        return true;
      },
    );
    assert.throws(() => connectionOf({ inventory_hostname: 'h', ferry_host: 'a b' }), /not a host name or address/);
    assert.equal(connectionOf({ inventory_hostname: 'h', ferry_host: 'fe80::1' }).host, 'fe80::1');
  });

  it('a loaded inventory says where each connection variable is written (Inventory.varLocOf)', function () {
    const inv = loadInventory('test/fixtures/inventory/forms/ranges.yml');
    const loc = inv.varLocOf('hv1', 'ansible_host');
    assert.equal(loc?.file, 'test/fixtures/inventory/forms/ranges.yml');
    assert.equal(loc?.line, 17);
    assert.equal(inv.varLocOf('hv1', 'no_such_var'), undefined);
  });

  it('works on a loaded host (the corpus infrared inventory)', function () {
    const inv = loadInventory(corpus('ansible-inventories/infrared-ssh-inventory/tests/example/test_ssh_inventory'));
    assert.deepEqual(connectionOf(inv.hostVars('test_host')), {
      host: '0.0.0.0',
      port: 33,
      user: 'test-user',
      privateKeyFile: '/dev/null',
      connection: 'ssh',
    });
    assert.equal(connectionOf(inv.hostVars('localhost')).connection, 'local');
  });

  it('the example inventory: two hypervisors and a local localhost', function () {
    const inv = loadInventory('inventories/example.yaml');
    assert.deepEqual(inv.hostsOfGroup('hypervisors'), ['hv1', 'hv2']);
    assert.equal(connectionOf(inv.hostVars('hv1')).connection, 'ssh');
    assert.equal(connectionOf(inv.hostVars('localhost')).connection, 'local');
  });
});
