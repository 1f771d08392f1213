// Both inventory forms, directories, host lists, and what the model derives from them
// (ungrouped, magic variables, the `groups` / `hostvars` template variables, the --list shape).
import { strict as assert } from 'node:assert';
import { ValidationError, type Problem } from '../../runner/errors.js';
import { loadIniInventory } from '../../runner/inventory/ini-inventory.js';
import {
  groupsMap,
  hostvarsMap,
  Inventory,
  inventoryToAnsibleList,
  loadInventory,
} from '../../runner/inventory/index.js';

const FIX = 'test/fixtures/inventory';
const HOSTS = [
  'bastion',
  'www01.example.com',
  'www02.example.com',
  'www03.example.com',
  'db-a',
  'db-b',
  'db-c',
];

function ini(text: string): Inventory {
  const inv = new Inventory();
  const problems: Problem[] = [];
  loadIniInventory(inv, text, 'inline.ini', problems);
  if (problems.length) throw new ValidationError(problems);
  inv.reconcile();
  return inv;
}

describe('inventory: YAML form', function () {
  const inv = loadInventory(`${FIX}/forms/ranges.yml`);

  it('expands ranges in file order and keeps hosts directly under all', function () {
    assert.deepEqual(inv.hostNames(), [...HOSTS, 'node0', 'node3', 'node6', 'hv1', 'hv2']);
  });
  it('puts a host that is only under all in ungrouped', function () {
    assert.deepEqual(inv.hostsOfGroup('ungrouped'), ['bastion']);
    assert.deepEqual(inv.groups.get('all')?.children, ['ungrouped', 'web', 'hypervisors']);
  });
  it('reads YAML 1.1 scalars (yes is true, "20" stays a string) and host:port', function () {
    assert.deepEqual(inv.varsOf('hv1'), { ntp: 'pool.ntp.org', role: 'hypervisor', quoted: '20', ansible_host: '10.0.0.1', enabled: true });
    assert.deepEqual(inv.varsOf('hv2'), { ntp: 'pool.ntp.org', role: 'hypervisor', quoted: '20', ansible_port: 22022 });
  });
  it('gives every host of a range the same vars', function () {
    for (const h of ['www01.example.com', 'www03.example.com']) assert.deepEqual(inv.varsOf(h), { ntp: 'pool.ntp.org', http_port: 8080 });
  });
});

describe('inventory: INI form', function () {
  const inv = loadInventory(`${FIX}/forms/hosts.ini`);

  it('reads host lines before any section as ungrouped, and ranges', function () {
    assert.deepEqual(inv.hostNames(), [...HOSTS, 'hv2']);
    assert.deepEqual(inv.hostsOfGroup('ungrouped'), ['bastion']);
    assert.deepEqual(inv.hostsOfGroup('web'), [...HOSTS.slice(1), 'hv2']);
  });
  it('reads host-line values as shell words then Python literals', function () {
    const v = inv.varsOf('db-b');
    assert.equal(v.weight, 1.5);
    assert.equal(v.primary, true);
    assert.equal(v.note, 'two words');
    assert.equal(inv.varsOf('www02.example.com').http_port, 8080);
    assert.equal(inv.varsOf('bastion').ansible_host, '192.0.2.1');
  });
  it('reads [group:vars] values as the trimmed text after = then Python literals', function () {
    const v = inv.varsOf('hv2');
    assert.equal(v.raw_value, 'quoted in vars');
    assert.deepEqual(v.list_value, ['a', 'b']);
    assert.equal(v.plain, 'true');
    assert.equal(v.ansible_port, 22022);
  });
  it('resolves a [g:children] reference to a group declared later in the file', function () {
    const fwd = ini('[parent:children]\nlater\n\n[later]\nh1\n');
    assert.deepEqual(fwd.hostsOfGroup('parent'), ['h1']);
    assert.deepEqual(fwd.groups.get('all')?.children, ['ungrouped', 'parent']);
  });
  it('accepts [g:vars] before the [g] section that declares g', function () {
    assert.deepEqual(ini('[g:vars]\nx=1\n[g]\nh\n').varsOf('h'), { x: 1 });
  });
  it('treats a host-line # as a comment and keeps # inside quotes', function () {
    assert.deepEqual(ini('h a=1 # b=2\nk a="x # y"\n').varsOf('h'), { a: 1 });
    assert.deepEqual(ini('k a="x # y"\n').varsOf('k'), { a: 'x # y' });
  });
});

describe('inventory: format detection and sources', function () {
  it('loads a directory: every file sorted, subdirectories too, ignored extensions skipped, group_vars beside it', function () {
    const inv = loadInventory(`${FIX}/dir`);
    assert.deepEqual(inv.hostNames(), ['web1', 'db1', 'db2']);
    assert.ok(!inv.groups.has('ignored'), '.ini files in an inventory directory are skipped as in Ansible');
    assert.deepEqual(inv.varsOf('db2'), { db_port: 5432 });
  });
  it('loads several sources into one inventory', function () {
    const inv = loadInventory([`${FIX}/forms/hosts.ini`, `${FIX}/dir`]);
    assert.deepEqual(inv.hostNames(), [...HOSTS, 'hv2', 'web1', 'db1', 'db2']);
    assert.deepEqual(inv.hostsOfGroup('web'), [...HOSTS.slice(1), 'hv2', 'web1']);
  });
  it('accepts a comma-separated host list', function () {
    const inv = loadInventory('hv1,hv2,');
    assert.deepEqual(inv.hostNames(), ['hv1', 'hv2']);
    assert.deepEqual(inv.hostsOfGroup('ungrouped'), ['hv1', 'hv2']);
  });
  it('reports a missing inventory path', function () {
    assert.throws(() => loadInventory(`${FIX}/no-such-file`), (e: unknown) => e instanceof ValidationError && /inventory not found/.test(e.message));
  });
});

describe('inventory: template variables', function () {
  const inv = loadInventory(`${FIX}/precedence/inventory`);

  it('adds inventory_hostname, inventory_hostname_short and sorted group_names (no all/ungrouped)', function () {
    const v = inv.hostVars('web1');
    assert.equal(v.inventory_hostname, 'web1');
    assert.deepEqual(v.group_names, ['alpha', 'omega', 'p_high', 'p_low', 'prod', 'web']);
    assert.equal(loadInventory('a.b.c,').hostVars('a.b.c').inventory_hostname_short, 'a');
    assert.deepEqual(loadInventory('solo,').hostVars('solo').group_names, []);
  });
  it('builds groups with inherited hosts', function () {
    const g = groupsMap(inv);
    assert.deepEqual(g.prod, ['web1', 'web2', 'db1']);
    assert.deepEqual(g.all, ['web1', 'web2', 'db1']);
    assert.deepEqual(g.ungrouped, []);
  });
  it('builds hostvars for every host', function () {
    const hv = hostvarsMap(inv);
    assert.deepEqual(Object.keys(hv), ['web1', 'web2', 'db1']);
    assert.equal(hv.db1.l5, 'group_vars-db');
    assert.equal(hv.web2.inventory_hostname, 'web2');
  });
  it('knows the implicit localhost without listing it', function () {
    assert.equal(inv.host('localhost')?.implicit, true);
    assert.ok(!inv.hostNames().includes('localhost'));
    assert.equal(inv.varsOf('localhost').l1, 'all-inline', 'the implicit localhost gets the all group vars');
  });
});

describe('inventory: ansible-inventory --list shape', function () {
  it('lists direct hosts and children, omits empty groups, keeps all without hosts', function () {
    const inv = ini('solo\n[web]\nw1 x=1\n[empty]\n[top:children]\nweb\nempty\n');
    assert.deepEqual(inventoryToAnsibleList(inv), {
      _meta: { hostvars: { w1: { x: 1 } } },
      all: { children: ['ungrouped', 'top'] },
      ungrouped: { hosts: ['solo'] },
      top: { children: ['web', 'empty'] },
      web: { hosts: ['w1'] },
    });
  });
});
