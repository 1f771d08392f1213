// The run's connections: one pooled transport per host, opened on first use and closed at the end,
// and the become settings a host's commands run with (they are read from the same variables).
import PQueue from 'p-queue';
import { Secret, secret } from './command.js';
import { becomeOf, becomeVarsOf, connectionOf, connectionVarsOf, layerConnectionVars } from './inventory/connection.js';
import { TaskFailedError } from './errors.js';
import type { InventoryView } from './inventory-view.js';
import type { BecomeOptions, Transport } from './transport/types.js';

type Obj = Record<string, unknown>;

/** Opens a transport for an inventory host from its variables. */
export type TransportFactory = (host: string, vars: Obj) => Transport;

/** The become / become_user keywords in force for a task (a play's, a block's, a task's own). */
export interface BecomeKeywords {
  become?: boolean;
  becomeUser?: string;
}

/**
 * How many connections are opened at once (socket, key exchange, authentication). The rest wait
 * their turn before their connect timeout starts: 500 handshakes started together on a controller of
 * 2 cores each took longer than the 10 s timeout, and 476 of 500 healthy hosts were reported
 * unreachable (bench/scale.ts, --forks 500). At 64, a fleet 200 ms away still connects 500 hosts in
 * ~8 rounds of a handshake.
 */
export const CONNECT_CONCURRENCY = 64;

/** The pooled transports of a run, and the connection and become settings of its hosts. */
export class ConnectionPool {
  private readonly transports = new Map<string, Transport>();
  private readonly connecting = new Map<string, Promise<Transport>>();
  private readonly handshakes: PQueue;

  constructor(
    private readonly inventory: InventoryView,
    private readonly factory: TransportFactory,
    /** -e: connection and become variables above everything. */
    private readonly extraVars: Obj = {},
    /** Connection and become variables below the inventory's (-u, -b, --become-user, -K, ansible.cfg). */
    private readonly connectionDefaults: Obj = {},
    connectConcurrency = CONNECT_CONCURRENCY,
  ) {
    this.handshakes = new PQueue({ concurrency: connectConcurrency });
  }

  /** The pooled transport of a host, connected on first use; unreachable hosts stay unreachable. */
  async transport(host: string): Promise<Transport> {
    const have = this.transports.get(host);
    if (have) return have;
    // A delegate_to / src_host / dest_host that only a template named (preflight checks the literal ones).
    if (!this.inventory.has(host)) throw new TaskFailedError(`'${host}' is not a host of the inventory`);
    let p = this.connecting.get(host);
    if (!p) {
      p = (async () => {
        const t = this.factory(host, this.inventory.hostVars(host));
        await this.handshakes.add(() => t.connect());
        this.transports.set(host, t);
        return t;
      })();
      this.connecting.set(host, p);
    }
    return p;
  }

  /** Closes every transport that connected (failures to close are not the run's). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.transports.values()].map((t) => t.close()));
  }

  /** A host with ferry_connection: none (a guest whose disks are worked on from its hypervisor). */
  reachedOnlyByDelegation(h: string): boolean {
    return connectionOf({ inventory_hostname: h, ...this.inventory.hostVars(h), ...connectionVarsOf(this.extraVars) }).connection === 'none';
  }

  /**
   * Become for a host. Precedence (README "Connection and become settings"): -e > the become /
   * become_user keywords > variables of the play, vars files, set_fact (`vars`, the task's host only)
   * > the inventory's > -b / --become-user / -K / ansible.cfg > root.
   */
  becomeFor(host: string, inh: BecomeKeywords, vars?: Obj): BecomeOptions | false {
    // only the become variables of each layer: becomeOf reads no others, and this runs per host-task
    const inventory = becomeVarsOf(this.inventory.hostVars(host));
    const extra = becomeVarsOf(this.extraVars);
    // A play's or set_fact's connection variable is one whose value differs from the inventory's.
    const above = vars ? Object.fromEntries(Object.entries(becomeVarsOf(vars)).filter(([k, v]) => inventory[k] !== v)) : {};
    const hv = layerConnectionVars([becomeVarsOf(this.connectionDefaults), inventory, above, extra]);
    // The one reader of become settings (connectionOf: the same booleans and names as preflight).
    const fromExtra = becomeOf(host, extra);
    const layered = becomeOf(host, hv);
    if (!(fromExtra.become ?? inh.become ?? layered.become)) return false;
    const pw = layered.password;
    const user = fromExtra.becomeUser ?? inh.becomeUser ?? layered.becomeUser ?? 'root';
    return { user, ...(pw !== undefined ? { password: pw instanceof Secret ? pw : secret(String(pw)) } : {}) };
  }
}
