import { strict as assert } from 'node:assert';
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

  it('runs localhost and ferry_connection: local on the controller', () => {
    assert.ok(transportForHost('x', { ferry_connection: 'local' }) instanceof LocalTransport);
    assert.ok(transportForHost('localhost', { ansible_connection: 'ssh' }) instanceof SshTransport);
    assert.ok(transportForHost('localhost', {}) instanceof LocalTransport);
    assert.ok(transportForHost('x', { ansible_host: 'h' }) instanceof SshTransport);
  });
});
