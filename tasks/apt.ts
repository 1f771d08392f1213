// The `apt` module (Ansible's ansible.builtin.apt): install, upgrade and remove Debian packages with
// apt-get, a local .deb included. read asks dpkg-query once for the named packages and then apt-get
// --simulate for the exact command the real run would give, so check mode lists the packages the
// run changes; decide is pure (test/fixtures/decide/apt).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Diff, type Step, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { applySteps } from '../runner/apply-steps.js';
import {
  CACHE_STAMPS,
  DPKG_QUERY_FORMAT,
  describeChange,
  findPackage,
  isInstalled,
  packageSpecProblem,
  parseAptSimulation,
  parseCacheTime,
  parseDebFields,
  parseDpkgQuery,
  parsePackageSpec,
  parsePolicyNames,
  specKey,
  type AptChange,
  type AptSimulation,
  type DpkgPackage,
  type PackageSpec,
} from './lib/apt.js';
import { absolutePathProblem } from './lib/operands.js';
import { checkedBy } from './lib/schema.js';

const spec = z.string().superRefine(checkedBy(packageSpecProblem));
const specs = z
  .union([z.string().transform((s) => [s]), z.array(z.string())])
  .pipe(z.array(spec));

/** The apt parameters' fields (the package module passes them on). */
export const aptFields = {
  name: specs.optional().describe("Packages: a name or a list; NAME=VERSION pins a version, NAME:ARCH an architecture (aliases pkg, package). Wildcards and version comparisons are refused"),
  pkg: specs.optional().describe('Alias of name'),
  package: specs.optional().describe('Alias of name'),
  state: z.enum(['present', 'absent', 'latest']).default('present').describe('present: installed (any version, or the pinned one); latest: at the candidate version; absent: removed'),
  update_cache: z.boolean().optional().describe('Run apt-get update first (when the cache is older than cache_valid_time); alone, it is the whole task'),
  cache_valid_time: z.number().int().nonnegative().optional().describe('Seconds the cache stays valid: update_cache does nothing when the last update is more recent; a value above 0 sets update_cache'),
  deb: z
    .string()
    .superRefine(checkedBy((d) => absolutePathProblem(d) ?? (d.endsWith('.deb') ? undefined : `'${d}' does not end in .deb, so apt-get would not read it as a package file; give the .deb's path`)))
    .optional()
    .describe('A .deb file on the host to install (with the dependencies apt-get finds); an absolute path ending in .deb'),
  purge: z.boolean().default(false).describe('state absent (and autoremove): remove the configuration files too (--purge)'),
  autoremove: z.boolean().default(false).describe('Remove the packages nothing needs any more (--auto-remove); alone, apt-get autoremove'),
  install_recommends: z.boolean().optional().describe("Install recommended packages (true) or not (false); unset: the host's apt default"),
  allow_downgrade: z.boolean().default(false).describe('Let a pinned version replace a higher installed one (--allow-downgrades)'),
  lock_timeout: z.number().int().nonnegative().default(60).describe("Seconds apt-get waits for another apt or dpkg to release its lock (DPkg::Lock::Timeout)"),
};

type AptFields = z.output<z.ZodObject<typeof aptFields>>;

/** The checks across apt's parameters (the package module makes them too). */
export function checkAptParams(p: AptFields, ctx: z.RefinementCtx): void {
  const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const given = (['name', 'pkg', 'package'] as const).filter((k) => p[k] !== undefined);
  if (given.length > 1) bad(given[1]!, `give name or one of its aliases (pkg, package), not ${given.join(' and ')}`);
  if (p.deb !== undefined && p.state !== 'present') bad('deb', 'deb only supports state=present');
  if (p.deb !== undefined && given.length) bad('deb', `give deb or ${given[0]}, not both (one task installs a .deb, another the named packages)`);
  if (p.state === 'absent' && p.install_recommends !== undefined) bad('install_recommends', 'install_recommends only applies to installing');
  if (!given.length && p.deb === undefined && !p.update_cache && !p.cache_valid_time && !p.autoremove) {
    ctx.addIssue({ code: 'custom', path: [], message: 'give one of name, deb, update_cache and autoremove' });
  }
}

/** The apt parameters. */
export const aptParams = z.strictObject(aptFields).superRefine(checkAptParams);

export type AptParams = z.output<typeof aptParams>;

/** What read found. */
export interface AptFacts {
  /** The host's clock and when the apt cache was last updated (epoch seconds; 0 unknown). */
  cache: { now: number; updated: number };
  /** dpkg's entries for the named packages (and the .deb's). */
  packages: DpkgPackage[];
  /** The .deb's control fields. */
  deb?: { name: string; version: string; arch: string };
  /** The names apt knows exactly (apt-cache policy), read before installing named packages. */
  known?: Set<string>;
  /** What apt-get --simulate said of the command the run would give (when it gives one). */
  simulation?: AptSimulation;
}

/** The packages the task names (name or an alias), parsed. */
export function namedPackages(p: AptParams): PackageSpec[] {
  return (p.name ?? p.pkg ?? p.package ?? []).map(parsePackageSpec);
}

/** Whether the cache is to be updated first: asked for, and older than cache_valid_time. */
function cacheIsStale(p: AptParams, cache: AptFacts['cache']): boolean {
  if (!p.update_cache && !p.cache_valid_time) return false;
  return cache.updated + (p.cache_valid_time ?? 0) < cache.now;
}

/** The apt-get operation the task needs given what dpkg has, and its operands; undefined when nothing is to do. */
export function pendingOperation(p: AptParams, packages: DpkgPackage[], deb?: AptFacts['deb']): { verb: 'install' | 'remove' | 'autoremove'; operands: string[] } | undefined {
  if (p.deb !== undefined) {
    const have = deb && findPackage(packages, { spec: deb.name, name: deb.name, ...(deb.arch && deb.arch !== 'all' ? { arch: deb.arch } : {}) });
    return have && isInstalled(have) && have.version === deb!.version ? undefined : { verb: 'install', operands: [p.deb] };
  }
  const named = namedPackages(p);
  if (!named.length) return p.autoremove ? { verb: 'autoremove', operands: [] } : undefined;
  if (p.state === 'latest') return { verb: 'install', operands: named.map((s) => s.spec) };
  if (p.state === 'absent') {
    const gone = named.filter((s) => {
      const have = findPackage(packages, s);
      return have && (isInstalled(have) || (p.purge && have.status === 'c'));
    });
    return gone.length ? { verb: 'remove', operands: gone.map((s) => (s.arch ? `${s.name}:${s.arch}` : s.name)) } : undefined;
  }
  const missing = named.filter((s) => {
    const have = findPackage(packages, s);
    return !have || !isInstalled(have) || (s.version !== undefined && have.version !== s.version);
  });
  return missing.length ? { verb: 'install', operands: missing.map((s) => s.spec) } : undefined;
}

const NONINTERACTIVE = ['env', 'DEBIAN_FRONTEND=noninteractive', 'DEBCONF_NONINTERACTIVE_SEEN=true', 'LC_ALL=C'];

/** The apt-get command line for an operation, as Ansible's apt builds it (--simulate for read). */
export function aptGetArgv(p: AptParams, op: { verb: string; operands: string[] }, simulate = false): string[] {
  const a = [...NONINTERACTIVE, 'apt-get', '-y', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', '-o', `DPkg::Lock::Timeout=${p.lock_timeout}`];
  if (op.verb === 'remove') a.push('-q');
  if (p.purge && op.verb !== 'install') a.push('--purge');
  if (p.autoremove && op.verb !== 'autoremove') a.push('--auto-remove');
  if (p.install_recommends !== undefined && op.verb === 'install') a.push('-o', `APT::Install-Recommends=${p.install_recommends ? 'yes' : 'no'}`);
  if (p.allow_downgrade && op.verb === 'install') a.push('--allow-downgrades');
  if (simulate) a.push('--simulate');
  return [...a, op.verb, '--', ...op.operands];
}

/** The cache update step (apt-get update). */
const UPDATE_TITLE = 'update the apt cache (apt-get update)';
const updateStep = (p: AptParams): Step => ({ title: UPDATE_TITLE, cmd: sh`${[...NONINTERACTIVE, 'apt-get', '-o', `DPkg::Lock::Timeout=${p.lock_timeout}`, 'update']}` });

const cacheCommand = () => sh`stat -c ${'%Y %n'} -- ${[...CACHE_STAMPS]} 2>/dev/null; date +%s`;

/** What the tools printed: the cache stat, dpkg-deb's fields, dpkg-query, apt-get --simulate (the decide table gives these). */
export interface AptOutputs {
  cache: ToolOutput;
  deb?: ToolOutput;
  dpkg?: ToolOutput;
  policy?: ToolOutput;
  simulate?: ToolOutput;
}

/** The facts from the tools' outputs. */
export function aptFactsFrom(p: AptParams, o: AptOutputs): AptFacts {
  const deb = o.deb && p.deb !== undefined ? parseDebFields(o.deb, p.deb) : undefined;
  return {
    cache: parseCacheTime(o.cache),
    packages: o.dpkg ? parseDpkgQuery(o.dpkg) : [],
    ...(deb ? { deb } : {}),
    ...(o.policy ? { known: parsePolicyNames(o.policy) } : {}),
    ...(o.simulate ? { simulation: parseAptSimulation(o.simulate) } : {}),
  };
}

/** Reads the cache's age, dpkg's entries for the packages (one dpkg-query), the .deb's fields and apt-get's simulation (I/O only). */
export async function readApt(ctx: TaskContext, p: AptParams): Promise<AptFacts> {
  const o: AptOutputs = { cache: await ctx.run(cacheCommand()) };
  if (p.deb !== undefined) o.deb = await ctx.run(sh`dpkg-deb --field ${p.deb} Package Version Architecture`);
  const deb = aptFactsFrom(p, o).deb;
  const names = [...new Set([...namedPackages(p).map((s) => s.name), ...(deb ? [deb.name] : [])])];
  if (names.length) o.dpkg = await ctx.run(sh`dpkg-query -W -f ${DPKG_QUERY_FORMAT} -- ${names}`);
  const op = pendingOperation(p, aptFactsFrom(p, o).packages, deb);
  const keys = op ? namesToInstall(p, op) : [];
  if (keys.length) o.policy = await ctx.run(sh`apt-cache policy -- ${keys}`);
  if (op && !unknownNames(p, op, aptFactsFrom(p, o).known).length) o.simulate = await ctx.run(sh`${aptGetArgv(p, op, true)}`);
  return aptFactsFrom(p, o);
}

/** The names (NAME or NAME:ARCH) an install of named packages gives apt-get, which must be known to apt exactly. */
function namesToInstall(p: AptParams, op: { verb: string; operands: string[] }): string[] {
  return op.verb === 'install' && p.deb === undefined ? op.operands.map((o) => specKey(parsePackageSpec(o))) : [];
}

/** The names to install that apt does not know exactly (apt-get would read them as a pattern, or fail). */
function unknownNames(p: AptParams, op: { verb: string; operands: string[] }, known: Set<string> = new Set()): string[] {
  return namesToInstall(p, op).filter((n) => !known.has(n));
}

/** "install a (1), b (2); upgrade c (1 → 2)": the changes grouped by action. */
function describeChanges(changes: AptChange[]): string {
  const groups = (['install', 'upgrade', 'downgrade', 'remove', 'purge'] as const).flatMap((a) => {
    const of = changes.filter((c) => c.action === a);
    return of.length ? [`${a} ${of.map(describeChange).join(', ')}`] : [];
  });
  return groups.join('; ');
}

/** --diff: the changed packages' versions before and after. */
function changesDiff(changes: AptChange[]): Diff {
  const line = (c: AptChange, v: string | undefined) => (v ? `${c.name} ${v}\n` : '');
  return {
    path: 'installed packages',
    before: changes.map((c) => line(c, c.from)).join(''),
    after: changes.map((c) => line(c, c.action === 'install' || c.action === 'upgrade' || c.action === 'downgrade' ? c.to : undefined)).join(''),
  };
}

/** Why nothing is to do for the named packages, as dpkg has them. */
function nothingToDo(p: AptParams, f: AptFacts): string {
  if (f.deb) return `${f.deb.name} ${f.deb.version} is installed (the version of ${p.deb})`;
  const named = namedPackages(p);
  if (!named.length) return p.autoremove ? 'no package is to be autoremoved' : '';
  const each = named.map((s) => {
    const have = findPackage(f.packages, s);
    return have && isInstalled(have) ? `${s.name} ${have.version}` : s.name;
  });
  if (p.state === 'absent') return `${named.map((s) => s.name).join(', ')} ${named.length === 1 ? 'is' : 'are'} not installed${p.purge ? ' (nor its configuration files)' : ''}`;
  if (p.state === 'latest') return `${each.join(', ')}: at the latest version apt has`;
  return `${each.join(', ')}: installed`;
}

/** Decides the apt-get update, install, remove or autoremove steps (pure). */
export function decideApt(p: AptParams, f: AptFacts): Verdict {
  const stale = cacheIsStale(p, f.cache);
  const pre = stale ? [updateStep(p)] : [];
  const data = { ...(p.state !== 'absent' || p.update_cache || p.cache_valid_time ? { cache_updated: false, cache_update_time: f.cache.updated } : {}) };
  const onlyCache = !namedPackages(p).length && p.deb === undefined && !p.autoremove;
  if (onlyCache) {
    if (stale) return { changed: true, steps: pre, data };
    return { changed: false, reason: `the apt cache was updated ${f.cache.now - f.cache.updated} s ago, within cache_valid_time (${p.cache_valid_time ?? 0} s)`, data };
  }
  const op = pendingOperation(p, f.packages, f.deb);
  const then = (what: string) => (stale ? `${what} (as the cache is now; the run decides again after updating it)` : what);
  if (!op) return stale ? { changed: true, steps: [{ ...pre[0]!, title: `${UPDATE_TITLE}; then ${then(nothingToDo(p, f))}` }], data } : { changed: false, reason: nothingToDo(p, f), data };
  const cmd = sh`${aptGetArgv(p, op)}`;
  const unknown = unknownNames(p, op, f.known);
  const sim = f.simulation ?? { changes: [] };
  const refusal = unknown.length ? `No package matching '${unknown[0]}' is available` : sim.error !== undefined ? (sim.message ?? sim.error) : undefined;
  if (refusal !== undefined) {
    // The update may bring the package: the run decides after it.
    if (stale && op.verb === 'install') return { changed: true, steps: [...pre, { title: then(`install ${op.operands.join(', ')}: ${refusal}`), cmd }], data };
    return { refused: refusal, data };
  }
  if (!sim.changes.length) {
    const reason = op.verb === 'install' && p.state === 'latest' ? nothingToDo(p, f) : op.verb === 'autoremove' ? 'no package is to be autoremoved' : `apt-get would change nothing for ${op.operands.join(', ')}`;
    return stale ? { changed: true, steps: [{ ...pre[0]!, title: `${UPDATE_TITLE}; then ${then(reason)}` }], data } : { changed: false, reason, data };
  }
  return { changed: true, steps: [...pre, { title: then(describeChanges(sim.changes)), cmd }], diff: [changesDiff(sim.changes)], data };
}

/** The apt module. */
export const aptModule = defineModule({
  name: 'apt',
  params: aptParams,
  doc: {
    summary: 'Install, upgrade or remove Debian packages with apt-get (a local .deb too); update the apt cache',
    description:
      "As Ansible's apt module. Facts: one `dpkg-query -W` for the named packages, the cache's time (" +
      `${CACHE_STAMPS.join(' or ')}), and \`apt-get --simulate\` of the exact command the run gives, so check mode and -v list ` +
      'every package it installs, upgrades or removes (dependencies too). Commands run with DEBIAN_FRONTEND=noninteractive ' +
      "and dpkg's --force-confdef/--force-confold, as Ansible's. Package names stay literal: a spec is NAME, NAME:ARCH or " +
      'NAME=VERSION and goes after `--`, and a name is installed only when `apt-cache policy` knows exactly that name (apt-get ' +
      "would read an unknown one as a regular expression): else \"No package matching 'x' is available\". present installs " +
      'what is missing (or not at the pinned version); latest gives every named package to ' +
      'apt-get install, which upgrades it to the candidate; absent removes what is installed (purge: also what left only its ' +
      'configuration files). With update_cache, the real run updates the cache first and then reads and decides again; a ' +
      'cache update alone is reported as a change only when no package, deb or autoremove is given (as in Ansible). Not done: ' +
      'wildcards, upgrade:, default_release, build-dep, policy_rc_d, marking packages manual when nothing else changes.',
    checkMode: 'partial',
    checkModeNote:
      'exact (the packages apt-get --simulate lists) unless update_cache would update the cache: check mode cannot see what ' +
      'the update brings, so it plans against the cache as it is now, says so in the step title, and reports the update as a change',
    result: {
      cache_updated: 'whether the cache was updated (not for state absent)',
      cache_update_time: 'when the cache was last updated, seconds since the epoch',
      stdout: "apt-get's output (when it ran)",
      stderr: "apt-get's error output (when it ran)",
    },
    example: [
      '- apt:',
      '    name: [nginx, "hello=2.10-3"]',
      '    update_cache: true',
      '    cache_valid_time: 3600',
      '',
      '- apt: { deb: /tmp/mypackage_1.0_all.deb }',
      '',
      '- apt: { name: telnet, state: absent, purge: true }',
    ].join('\n'),
  },
  read: readApt,
  decide: decideApt,
  async apply(ctx, p, plan) {
    let steps = plan.steps;
    let updated = false;
    if (steps[0]?.title.startsWith(UPDATE_TITLE)) {
      await applySteps(ctx, [steps[0]]);
      updated = true;
      // What to install is known only now that the cache is new: read and decide again, without the update.
      const after: AptParams = { ...p, update_cache: false, cache_valid_time: undefined };
      const v = decideApt(after, await readApt(ctx, after));
      if ('refused' in v) throw new TaskFailedError(v.refused, v.data ?? {});
      steps = v.changed ? v.steps : [];
    }
    const { ran } = await applySteps(ctx, steps);
    const last = ran.at(-1)?.result;
    const onlyCache = !namedPackages(p).length && p.deb === undefined && !p.autoremove;
    const cache = p.state !== 'absent' || onlyCache ? { cache_updated: updated, cache_update_time: parseCacheTime(await ctx.run(cacheCommand())).updated } : {};
    return { changed: ran.length > 0 || (onlyCache && updated), ...cache, ...(last ? { stdout: last.stdout, stderr: last.stderr } : {}) };
  },
});
