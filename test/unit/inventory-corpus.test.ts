// Compatibility with real inventories: every entry of the corpus that has an expected/ file (what
// ansible-inventory 2.14 printed for it) must load to the same groups, members and variables.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ValidationError } from '../../runner/errors.js';
import { inventoryToAnsibleList, loadInventory, type AnsibleList, type Inventory } from '../../runner/inventory/index.js';
import { corpus } from '../helpers/corpora.js';

const ROOT = corpus('ansible-inventories');
const EXPECTED = join(ROOT, 'expected');

// Every file and directory of the corpus, as a load path relative to ROOT.
function corpusPaths(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const full = join(dir, e);
      const rel = relative(ROOT, full);
      if (rel === 'expected' || rel === 'SOURCE.md') continue;
      out.push(rel);
      if (statSync(full).isDirectory()) walk(full);
    }
  };
  walk(ROOT);
  return out;
}

type Groups = Record<string, { hosts: string[]; children: string[] }>;

// Lists compared as sets: Ansible's list order is not part of the contract (SOURCE.md).
function groupsOf(list: Record<string, unknown>): Groups {
  const out: Groups = {};
  for (const [name, g] of Object.entries(list)) {
    if (name === '_meta') continue;
    const entry = g as { hosts?: string[]; children?: string[] };
    out[name] = { hosts: [...(entry.hosts ?? [])].sort(), children: [...(entry.children ?? [])].sort() };
  }
  return out;
}

// Each group's full membership (hosts inherited through children), derived from a --list document.
function membership(list: Record<string, unknown>): Record<string, string[]> {
  const groups = groupsOf(list);
  const hostsOf = (name: string, seen = new Set<string>()): Set<string> => {
    const out = new Set<string>(groups[name]?.hosts ?? []);
    for (const c of groups[name]?.children ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      for (const h of hostsOf(c, seen)) out.add(h);
    }
    return out;
  };
  const names = new Set([...Object.keys(groups), ...Object.values(groups).flatMap((g) => g.children)]);
  return Object.fromEntries([...names].map((n) => [n, [...hostsOf(n)].sort()]));
}

const expectedFiles = readdirSync(EXPECTED).filter((f) => f.endsWith('.json')).sort();
const paths = corpusPaths();

describe('inventory: Ansible corpus compatibility', function () {
  it('finds expected results on disk', function () {
    assert.ok(expectedFiles.length >= 17, `only ${expectedFiles.length} expected files`);
  });

  for (const file of expectedFiles) {
    const loadAs = paths.filter((p) => `${p.replaceAll('/', '_')}.json` === file);
    describe(file, function () {
      it('maps to exactly one load path in the corpus', function () {
        assert.equal(loadAs.length, 1, `candidates: ${loadAs.join(', ')}`);
      });
      if (loadAs.length !== 1) return;
      const want = JSON.parse(readFileSync(join(EXPECTED, file), 'utf8')) as AnsibleList;
      let got: AnsibleList;
      let inv: Inventory;
      before(function () {
        inv = loadInventory(join(ROOT, loadAs[0]));
        got = JSON.parse(JSON.stringify(inventoryToAnsibleList(inv))) as AnsibleList;
      });
      it('has the same groups with the same direct hosts and children', function () {
        assert.deepEqual(groupsOf(got), groupsOf(want));
      });
      it('has the same groups and members per group, inherited hosts included', function () {
        const mine = Object.fromEntries(inv.groupNames().map((g) => [g, [...inv.hostsOfGroup(g)].sort()]));
        assert.deepEqual(mine, membership(want));
      });
      it('has the same variable values for every host', function () {
        assert.deepEqual(got._meta.hostvars, want._meta.hostvars);
      });
    });
  }

  describe('entries without an expected file (SOURCE.md states the result)', function () {
    for (const p of ['ansible-docs/examples/hosts', 'ansible-docs/examples/hosts.yaml']) {
      it(`${p} is all comments: no hosts, only ungrouped under all`, function () {
        const inv = loadInventory(join(ROOT, p));
        assert.deepEqual(inv.hostNames(), []);
        assert.deepEqual(inventoryToAnsibleList(inv), { _meta: { hostvars: {} }, all: { children: ['ungrouped'] } });
      });
    }

    it('test_int_hostname.yml is rejected: the host key 1234 is an integer', function () {
      const file = join(ROOT, 'ansible-inventory-yaml/test/integration/targets/inventory_yaml/test_int_hostname.yml');
      assert.throws(
        () => loadInventory(file),
        (e: unknown) => {
          assert.ok(e instanceof ValidationError);
          assert.equal(e.problems.length, 1);
          assert.match(e.problems[0].message, /host name 1234 must be a string/);
          assert.deepEqual({ file: e.problems[0].loc?.file, line: e.problems[0].loc?.line }, { file, line: 5 });
          return true;
        },
      );
    });

    it('the virt-install hosts file alone gives the same result as its directory', function () {
      const dir = join(ROOT, 'infra-ansible-virt-install/roles/virt-install/tests/inventory');
      assert.deepEqual(inventoryToAnsibleList(loadInventory(join(dir, 'hosts'))), inventoryToAnsibleList(loadInventory(dir)));
    });
  });
});
