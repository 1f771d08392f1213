// The variables a task sees on a host: the layers of precedence (runner/vars.ts) filled from the
// play, the inventory, the host's facts, the blocks and role the task is in, its own vars, the
// host's registered values, and -e; the magic variables over them; and `hostvars`, every host's view.
import type { HostState } from './host-state.js';
import type { Inherited } from './inherited.js';
import type { InventoryView } from './inventory-view.js';
import { LOOKUP_VAULT } from './lookups.js';
import type { Play } from './playbook/model.js';
import type { SecretValues } from './secrets.js';
import { MAGIC_VARS, resolveLayers, type VarLayers } from './vars.js';
import type { VaultKeys } from './vault/keys.js';

type Obj = Record<string, unknown>;

/** What one batch of a play gives its tasks' variables. */
export interface PlayScope {
  play: Play;
  /** The hosts of the batch (play_hosts). */
  batch: string[];
  /** The play's vars_files, read. */
  varsFiles: Obj;
}

/** Everything one task's variables on one host are made of. */
export interface TaskScopeInput {
  host: string;
  scope: PlayScope;
  /** The vars of the enclosing blocks and includes (outermost first) and the role the task is in. */
  inh: Pick<Inherited, 'vars' | 'role'>;
  /** The task's own vars (and a loop's item). */
  task: Obj;
  /** The host's inventory variables. */
  inventory: Obj;
  groups: Record<string, string[]>;
  hostvars: Obj;
  /** The host's registered and set values. */
  registered: Obj;
  /** The host's gathered facts, when it has them. */
  facts?: Obj;
  /** -e */
  extra: Obj;
  check: boolean;
  /** The run's vault passwords, for lookup('file') of vault-encrypted files (carried, never listed). */
  vault?: VaultKeys;
}

/** The layers of a task's variables, lowest first, the magic variables last (pure). */
export function taskLayers(i: TaskScopeInput): VarLayers {
  const { play } = i.scope;
  const role = i.inh.role;
  const magic: Obj = {
    inventory_hostname: i.host,
    groups: i.groups,
    hostvars: i.hostvars,
    play_hosts: i.scope.batch,
    ansible_play_hosts: i.scope.batch,
    ansible_check_mode: i.check,
    ferry_check_mode: i.check,
    playbook_dir: play.baseDir,
    ...(role ? { role_name: role.name, role_path: role.path } : {}),
  };
  // ansible_facts and ferry_facts are magic; the facts as top-level variables (ansible_hostname, …)
  // are a layer of their own, below the play and -e, as in Ansible.
  let facts: Obj | undefined;
  if (i.facts) {
    facts = {};
    for (const [k, v] of Object.entries(i.facts)) (MAGIC_VARS.has(k) ? magic : facts)[k] = v;
  }
  if (i.vault) (magic as Record<symbol, unknown>)[LOOKUP_VAULT] = i.vault;
  return {
    // (merged only inside a role: this runs for every task on every host)
    roleDefaults: role ? { ...play.roleDefaults, ...role.defaults } : play.roleDefaults,
    inventory: i.inventory,
    facts,
    play: play.vars,
    varsFiles: i.scope.varsFiles,
    roleVars: role ? { ...play.roleVars, ...role.vars } : play.roleVars,
    blocks: i.inh.vars,
    task: i.task,
    registered: i.registered,
    extra: i.extra,
    magic,
  };
}

/** The variables of a run's tasks: each host's layers resolved, and `hostvars` kept until a host's values change. */
export class RunScope {
  private hostvarsView?: Obj;

  constructor(
    private readonly o: { inventory: InventoryView; extraVars?: Obj; vault?: VaultKeys; check: boolean; secrets: SecretValues },
    /** A host's registered and set values, if the run has seen the host. */
    private readonly registeredOf: (host: string) => Obj | undefined,
  ) {}

  /** Stores registered / set values of a host (and drops the hostvars view built from them). */
  remember(st: HostState, values: Obj): void {
    Object.assign(st.registered, values);
    this.hostvarsView = undefined;
  }

  /**
   * `hostvars`: every host's inventory variables, -e and registered values, rebuilt only after a
   * change. A host's entry is made when something first reads it, its templates rendered with that
   * host's own variables, as Ansible does: a task's variables never copy or scan every host's, so
   * their cost does not grow with the inventory (bench/hostvars-scope.ts). A Proxy whose entries
   * read as plain data properties (the expression evaluator reads no accessor).
   */
  hostvars(): Obj {
    if (!this.hostvarsView) {
      const extra = this.o.extraVars ?? {};
      const made = new Map<string, Obj>();
      const entry = (n: string): Obj => {
        let value = made.get(n);
        if (!value) {
          // the host's own layers, by the one rule of which values are templates (registered ones are data)
          value = resolveLayers({ inventory: this.o.inventory.hostVars(n), play: {}, varsFiles: {}, blocks: [], task: {}, registered: this.registeredOf(n) ?? {}, extra, magic: {} });
          made.set(n, value);
        }
        return value;
      };
      const isHost = (k: string | symbol): k is string => typeof k === 'string' && this.o.inventory.has(k);
      this.hostvarsView = new Proxy({} as Obj, {
        get: (t, k) => (isHost(k) ? entry(k) : Reflect.get(t, k)),
        has: (t, k) => isHost(k) || Reflect.has(t, k),
        ownKeys: () => this.o.inventory.hostNames(),
        getOwnPropertyDescriptor: (_t, k) => (isHost(k) ? { value: entry(k), enumerable: true, configurable: true, writable: false } : undefined),
        set: () => false,
        defineProperty: () => false,
        deleteProperty: () => false,
      });
    }
    return this.hostvarsView;
  }

  /** A task's variables on a host; a password variable among them becomes one of the run's secrets. */
  vars(scope: PlayScope, st: HostState, inh: Inherited, task: Obj): Obj {
    const layers = taskLayers({
      host: st.name,
      scope,
      inh,
      task,
      inventory: this.o.inventory.hostVars(st.name),
      groups: this.o.inventory.groups(),
      hostvars: this.hostvars(),
      registered: st.registered,
      facts: st.facts,
      extra: this.o.extraVars ?? {},
      check: this.o.check,
      vault: this.o.vault,
    });
    const resolved = resolveLayers(layers);
    // A password variable may be a template (`{{ vault_pw }}`) or set in a play, vars_files or a task.
    this.o.secrets.addNamed(resolved, new Set(Object.keys(layers.magic)));
    return resolved;
  }
}
