// virsh_define: define a KVM (or QEMU/TCG) libvirt domain from templates/kvm-domain.xml.hbs and bring it to a
// state (defined, started, autostart, shutdown, destroyed, undefined). The XML is rendered on the controller;
// "same or not" is decided on the settings ferry manages, not on libvirt's whole, much-embellished XML.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Step, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { renderHandlebarsFile } from '../runner/template.js';
import { DOMAIN_STATES, parseDominfo, planDomain, statesWithXml, type DomainAction, type DomainFacts } from './libvirt/domain-plan.js';
import { domainDifferences, domainTemplateVars, formatSummary, parseDomainXml, projectActual, type KvmDomain } from './libvirt/kvm-domain-xml.js';
import { virtioDiskName } from './guest-files/device-names.js';
import { absolutePathField, pathField } from './lib/schema.js';

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
// libvirt's own tokens (bridge and network names, models, targets): no quotes or markup in them anyway,
// but they are escaped like everything else.
const token = (what: string) => z.string().min(1, 'must not be empty').regex(/^[^\s/\0]+$/, `${what} has no spaces or slashes`);

const diskSchema = z.strictObject({
  source: pathField('The block device (an LV: /dev/VG/LV) or image file the guest sees as this disk'),
  target: z
    .string()
    .regex(/^(vd|sd|hd|xvd)[a-z]{1,3}$/, 'is a device name such as vda')
    .optional()
    .describe('Device name in the guest (default vda, vdb, … in order)'),
  type: z.enum(['block', 'file']).optional().describe('block or file (default: block for /dev/… sources, file otherwise)'),
  format: z.enum(['raw', 'qcow2', 'qed', 'vpc', 'vmdk']).default('raw').describe('Image format (qemu driver type)'),
  bus: z.enum(['virtio', 'sata', 'scsi', 'ide']).default('virtio').describe('Disk bus'),
  cache: z
    .enum(['none', 'directsync', 'writethrough', 'writeback', 'unsafe', 'default'])
    .default('none')
    .describe('Host cache mode (none: O_DIRECT, the usual choice for an LV)'),
  io: z
    .enum(['native', 'threads', 'io_uring'])
    .optional()
    .describe('I/O mode (default native with cache none/directsync — libvirt allows native only then — else threads)'),
  readonly: z.boolean().default(false).describe('Attach read-only'),
});

const interfaceSchema = z
  .strictObject({
    mac: z.string().regex(MAC, 'is a MAC address such as 00:16:3e:12:34:56').optional().describe('MAC address (keep the Xen vif\'s)'),
    bridge: token('bridge').optional().describe('Host bridge to attach to'),
    network: token('network').optional().describe('libvirt network to attach to (instead of bridge)'),
    user: z.literal(true).optional().describe('QEMU user-mode networking (no host setup; for tests)'),
    model: token('model').default('virtio').describe('NIC model'),
    virtualport: z.enum(['openvswitch']).optional().describe('openvswitch when the bridge is an Open vSwitch bridge (as Xen\'s vif-openvswitch used)'),
    vlan: z
      .strictObject({
        tags: z
          .array(z.number().int().min(0).max(4095))
          .min(1, 'give at least one VLAN tag')
          .describe('VLAN ids (0-4095): one, or several with trunk'),
        trunk: z.boolean().default(false).describe('Carry several VLANs (a trunk) rather than tag one'),
      })
      .optional()
      .describe('VLAN tags (Open vSwitch bridges: needs virtualport openvswitch)'),
  })
  .refine((i) => [i.bridge, i.network, i.user].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of bridge, network and user: true',
  })
  .refine((i) => !i.vlan || (i.bridge !== undefined && i.virtualport === 'openvswitch'), {
    message: 'vlan needs a bridge with virtualport: openvswitch (libvirt tags VLANs on Open vSwitch bridges only)',
  })
  .refine((i) => !i.vlan || i.vlan.trunk || i.vlan.tags.length === 1, { message: 'several VLAN tags need trunk: true' });

const params = z
  .strictObject({
    name: z
      .string()
      .min(1, 'must not be empty')
      .refine((s) => !/[/\p{Cc}]/u.test(s), 'must not contain / or control characters')
      .describe('Domain name'),
    uuid: z.string().regex(UUID, 'is a UUID').optional().describe("Domain UUID (the Xen guest's, to keep it); libvirt makes one when left out"),
    memory_mb: z.number().int().positive().optional().describe('Memory in MiB (required for defined/started/autostart)'),
    vcpus: z.number().int().positive().default(1).describe('Virtual CPUs'),
    disks: z.array(diskSchema).default([]).describe('Disks, in boot order (the first one boots)'),
    interfaces: z.array(interfaceSchema).default([]).describe('Network interfaces, one per Xen vif'),
    domain_type: z.enum(['kvm', 'qemu']).default('kvm').describe('kvm (hardware virtualisation) or qemu (TCG emulation, slow; for hosts without /dev/kvm)'),
    arch: token('arch').default('x86_64').describe('Guest architecture'),
    machine: token('machine').default('pc').describe('Machine type (libvirt stores the versioned name, e.g. pc-i440fx-7.2; that counts as the same)'),
    emulator: pathField('QEMU binary (default: libvirt chooses)').optional(),
    console_log: absolutePathField('Host file that receives the serial console (ttyS0) output, truncated at each start: a boot check can wait for "login:" in it').optional(),
    vnc: z.boolean().default(false).describe('Add a VNC display (autoport)'),
    vnc_listen: z.string().min(1).default('127.0.0.1').describe('Address the VNC display listens on'),
    template: z.string().min(1).optional().describe('Own handlebars domain template (controller path, relative to the playbook); default templates/kvm-domain.xml.hbs'),
    uri: z.string().min(1).default('qemu:///system').describe('libvirt connection URI'),
    state: z
      .enum(DOMAIN_STATES)
      .default('defined')
      .describe(
        'defined: define or redefine; started: defined and running; autostart: defined and marked autostart; ' +
          'shutdown: ACPI shutdown, waiting for "shut off"; destroyed: powered off at once; undefined: removed (needs force; disks are kept)',
      ),
    shutdown_timeout: z.number().int().nonnegative().default(120).describe('Seconds to wait for a shutdown to finish'),
    force: z.boolean().default(false).describe('shutdown: destroy after the timeout instead of failing; undefined: allow removing an existing domain'),
  })
  .superRefine((p, ctx) => {
    if (statesWithXml(p.state) && p.memory_mb === undefined) {
      ctx.addIssue({ code: 'custom', path: ['memory_mb'], message: `is required for state ${p.state}` });
    }
    const targets = new Set<string>();
    p.disks.forEach((d, i) => {
      const t = d.target ?? virtioDiskName(i);
      if (targets.has(t)) ctx.addIssue({ code: 'custom', path: ['disks', i, 'target'], message: `${t} is used by two disks` });
      targets.add(t);
      if (d.io === 'native' && d.cache !== 'none' && d.cache !== 'directsync') {
        ctx.addIssue({ code: 'custom', path: ['disks', i, 'io'], message: 'native needs cache none or directsync (libvirt refuses it otherwise)' });
      }
    });
  });

/** virsh_define's validated parameters. */
export type VirshDefineParams = z.output<typeof params>;

/** The domain the parameters describe, with every default filled in. */
export function kvmDomainFromParams(p: VirshDefineParams): KvmDomain {
  return {
    name: p.name,
    ...(p.uuid !== undefined ? { uuid: normalizeUuid(p.uuid) } : {}),
    memoryMib: p.memory_mb ?? 0,
    vcpus: p.vcpus,
    domainType: p.domain_type,
    arch: p.arch,
    machine: p.machine,
    ...(p.emulator !== undefined ? { emulator: p.emulator } : {}),
    disks: p.disks.map((d, i) => ({
      source: d.source,
      target: d.target ?? virtioDiskName(i),
      type: d.type ?? (d.source.startsWith('/dev/') ? 'block' : 'file'),
      format: d.format,
      bus: d.bus,
      cache: d.cache,
      io: d.io ?? (d.cache === 'none' || d.cache === 'directsync' ? 'native' : 'threads'),
      readonly: d.readonly,
    })),
    interfaces: p.interfaces.map((i) => ({
      ...(i.mac !== undefined ? { mac: i.mac.toLowerCase() } : {}),
      ...(i.bridge !== undefined ? { bridge: i.bridge } : {}),
      ...(i.network !== undefined ? { network: i.network } : {}),
      ...(i.user ? { user: true } : {}),
      model: i.model,
      ...(i.virtualport !== undefined ? { virtualport: i.virtualport } : {}),
      ...(i.vlan ? { vlan: i.vlan } : {}),
    })),
    ...(p.console_log !== undefined ? { consoleLog: p.console_log } : {}),
    ...(p.vnc ? { vnc: { listen: p.vnc_listen } } : {}),
  };
}

function normalizeUuid(u: string): string {
  const h = u.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Finds a file under the package's templates/ (from tasks/ when run from source, dist/tasks/ when built). */
export function shippedTemplate(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'templates', name);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new TaskFailedError(`template ${name} not found in ferry's templates/ folder (is the package complete?)`);
}

/** Renders the domain XML on the controller. */
export function renderDomainXml(p: VirshDefineParams, baseDir: string, existingUuid?: string): string {
  const file = p.template !== undefined ? resolve(baseDir, p.template) : shippedTemplate('kvm-domain.xml.hbs');
  if (!existsSync(file)) throw new TaskFailedError(`template ${p.template} not found (looked for ${file})`);
  const domain = kvmDomainFromParams(p);
  // Without a uuid libvirt would make a new one, and refuses to redefine a name under another UUID.
  if (domain.uuid === undefined && existingUuid !== undefined) domain.uuid = existingUuid;
  return renderHandlebarsFile(file, domainTemplateVars(domain));
}

const virsh = (p: { uri: string }, ...rest: Command[]): Command => sh`virsh -q -c ${p.uri} ${rest}`;

/** True when virsh's error means "no such domain" (rather than "cannot talk to libvirt"). */
function noSuchDomain(stderr: string): boolean {
  return /failed to get domain|Domain not found|no domain with matching/i.test(stderr);
}

/** What libvirt knows about the domain, from what `virsh dominfo` printed. */
export function domainFactsFrom(p: VirshDefineParams, r: ToolOutput): DomainFacts {
  if (r.exitCode === 0) return parseDominfo(r.stdout);
  if (noSuchDomain(r.stderr)) return { exists: false };
  throw new TaskFailedError(`virsh -c ${p.uri} dominfo ${p.name}: ${r.stderr.trim() || `exit ${r.exitCode}`}`, { stderr: r.stderr });
}

/** What read found: dominfo, and for the states that manage XML the rendered XML, what virt-xml-validate said and the defined XML. */
export interface VirshFacts {
  domain: DomainFacts;
  /** Rendered on the controller from the template (with the existing domain's UUID when none is given). */
  xml?: string;
  validation?: ToolOutput;
  /** `virsh dumpxml --inactive` of a persistent domain. */
  dumpxml?: string;
}

/** Reads dominfo, renders the XML, has the host's virt-xml-validate check it (stdin: nothing is written) and dumps the defined XML. */
async function readVirsh(ctx: TaskContext, p: VirshDefineParams): Promise<VirshFacts> {
  const domain = domainFactsFrom(p, await ctx.run(virsh(p, sh`dominfo --domain ${p.name}`)));
  if (!statesWithXml(p.state)) return { domain };
  const xml = renderDomainXml(p, ctx.baseDir, domain.exists ? domain.uuid : undefined);
  // `-` makes virt-xml-validate read stdin; 127 means it (or the xmllint it runs) is not installed.
  const validation = await ctx.run(sh`if command -v virt-xml-validate >/dev/null 2>&1; then virt-xml-validate - domain; else exit 127; fi`, { stdin: xml });
  const dumpxml = domain.exists && domain.persistent ? (await ctx.runOk(virsh(p, sh`dumpxml --inactive --domain ${p.name}`))).stdout : undefined;
  return { domain, xml, validation, ...(dumpxml !== undefined ? { dumpxml } : {}) };
}

async function domstate(ctx: TaskContext, p: VirshDefineParams): Promise<string> {
  const r = await ctx.run(virsh(p, sh`domstate --domain ${p.name}`));
  if (r.exitCode !== 0) {
    if (noSuchDomain(r.stderr)) return 'undefined';
    throw new TaskFailedError(`virsh domstate ${p.name}: ${r.stderr.trim()}`);
  }
  return r.stdout.trim();
}

/** What virt-xml-validate's answer means: valid, not validated (not installed), or a refusal. */
function validationOf(r: ToolOutput, xml: string): string | { refused: string; data: Record<string, unknown> } {
  if (r.exitCode === 0) return 'valid (virt-xml-validate)';
  if (r.exitCode === 127 || /xmllint: (command )?not found/.test(r.stderr)) {
    return 'not validated: virt-xml-validate (libvirt-clients) or xmllint (libxml2-utils) is not installed on the host';
  }
  return { refused: `the rendered domain XML does not pass virt-xml-validate:\n${r.stderr.trim() || r.stdout.trim()}`, data: { xml } };
}

async function defineFromXml(ctx: TaskContext, p: VirshDefineParams, xml: string): Promise<void> {
  // virsh reads the file on the host; a private temp file, removed whatever happens.
  const tmp = (await ctx.runOk(sh`mktemp -t ferry-domain.XXXXXX.xml`)).stdout.trim();
  try {
    await ctx.transport.put(tmp, xml, { mode: 0o600, become: ctx.become });
    await ctx.runOk(virsh(p, sh`define --file ${tmp}`));
  } finally {
    await ctx.run(sh`rm -f -- ${tmp}`);
  }
}

async function shutdownAndWait(ctx: TaskContext, p: VirshDefineParams, force: boolean): Promise<Record<string, unknown>> {
  await ctx.runOk(virsh(p, sh`shutdown --domain ${p.name}`));
  const deadline = Date.now() + p.shutdown_timeout * 1000;
  let state = await domstate(ctx, p);
  while (state !== 'shut off' && state !== 'undefined' && Date.now() < deadline) {
    ctx.progress({ message: `waiting for ${p.name} to shut off (${state})` });
    await new Promise((r) => setTimeout(r, 1000));
    state = await domstate(ctx, p);
  }
  if (state === 'shut off' || state === 'undefined') return { forced: false };
  if (!force) {
    throw new TaskFailedError(
      `domain ${p.name} is still ${state} ${p.shutdown_timeout}s after virsh shutdown (does the guest handle ACPI power button events?); ` +
        'raise shutdown_timeout, or set force: true to destroy it after the timeout',
      { domain_state: state },
    );
  }
  await ctx.runOk(virsh(p, sh`destroy --domain ${p.name}`));
  return { forced: true };
}

function stepFor(action: DomainAction, p: VirshDefineParams, xml: string | undefined): Step {
  const n = p.name;
  const destructive = (a: { refusal?: string }) => (a.refusal ? { destructive: true, refusal: a.refusal } : {});
  switch (action.kind) {
    case 'define':
      // A stream step: the XML is uploaded to a private temp file that virsh reads, then removed.
      return { title: `virsh define ${n} (${action.why})`, run: async (ctx) => defineFromXml(ctx, p, xml ?? '') };
    case 'start':
      return { title: `virsh start ${n}`, cmd: virsh(p, sh`start --domain ${n}`) };
    case 'resume':
      return { title: `virsh resume ${n} (paused)`, cmd: virsh(p, sh`resume --domain ${n}`) };
    case 'autostart':
      return { title: `virsh autostart ${n}`, cmd: virsh(p, sh`autostart --domain ${n}`) };
    case 'shutdown':
      // Not one command: it waits for "shut off" (with progress), then destroys with force.
      return {
        title: `virsh shutdown ${n}, wait up to ${p.shutdown_timeout}s for shut off${action.force ? ', then destroy' : ''}`,
        run: async (ctx) => shutdownAndWait(ctx, p, action.force),
      };
    case 'destroy':
      return { title: `virsh destroy ${n}`, cmd: virsh(p, sh`destroy --domain ${n}`), ...destructive(action) };
    case 'undefine':
      // Plain undefine: libvirt never deletes storage unless asked (--remove-all-storage), and ferry never asks.
      return { title: `virsh undefine ${n} (disks are kept)`, cmd: virsh(p, sh`undefine --domain ${n}`), ...destructive(action) };
  }
}

/** Decides what virsh_define does from what read found (pure): compares the wanted XML with the defined one, then planDomain. */
export function decideVirsh(p: VirshDefineParams, f: VirshFacts): Verdict {
  const facts = f.domain;
  let data: Record<string, unknown> = { domain_state: facts.exists ? (facts.state ?? 'unknown') : 'undefined' };
  let comparison: { wantedUuid?: string; differences?: ReturnType<typeof domainDifferences> } | undefined;
  let diff;
  if (statesWithXml(p.state)) {
    const xml = f.xml ?? '';
    const wanted = parseDomainXml(xml, 'the rendered domain XML');
    const validation = validationOf(f.validation ?? { exitCode: 127, stdout: '', stderr: '' }, xml);
    if (typeof validation !== 'string') return validation;
    data = { ...data, xml, validation };
    comparison = { wantedUuid: wanted.uuid };
    if (f.dumpxml !== undefined) {
      const actual = parseDomainXml(f.dumpxml, `virsh dumpxml --inactive ${p.name}`);
      comparison.differences = domainDifferences(wanted, actual);
      if (comparison.differences.length > 0) {
        data.differences = comparison.differences;
        diff = [{ path: `domain ${p.name}`, before: formatSummary(projectActual(wanted, actual)), after: formatSummary(wanted) }];
      }
    } else {
      diff = [{ path: `domain ${p.name}`, before: '', after: formatSummary(wanted) }];
    }
  }
  const verdict = planDomain(p.name, p.state, facts, { force: p.force, ...(comparison ? { xml: comparison } : {}) }, (a) => stepFor(a, p, f.xml));
  if ('refused' in verdict) return { ...verdict, data };
  if (!verdict.changed) return { ...verdict, data };
  return { ...verdict, ...(diff ? { diff } : {}), data };
}

export const virshDefineModule = defineModule({
  name: 'virsh_define',
  params,
  doc: {
    summary: 'Define a KVM/QEMU libvirt domain from the shipped template and start, shut down, destroy or undefine it',
    description:
      'The domain XML is rendered on the controller from templates/kvm-domain.xml.hbs (or template:) with every value ' +
      "XML-escaped, and checked with the host's `virt-xml-validate - domain` when it is installed (the result says " +
      'when it is not). An existing definition (`virsh dumpxml --inactive`) is compared on the settings ferry sets — ' +
      'name, uuid, memory, vcpus, os type/arch/machine/boot, features, on_* actions, emulator, disks (type, source, ' +
      'target, bus, driver, format, cache, io, readonly), interfaces (type, MAC, bridge/network, model), serial ' +
      '(type, port, log file), console, graphics — and ignores what libvirt adds (PCI addresses, controllers, ' +
      'aliases, the versioned machine name, generated MACs when none is given). A running domain that is redefined ' +
      'keeps running and picks the change up at its next start. console_log sends the serial console to a host file ' +
      '(virtlogd, truncated at each start) so a later task can wait for "login:" in it; the guest kernel needs ' +
      'console=ttyS0. undefined needs force when the domain exists and never deletes storage; a running domain is ' +
      'destroyed first. shutdown waits up to shutdown_timeout for "shut off", then fails, or destroys with force.',
    checkMode: 'full',
    checkModeNote: 'plan only runs virsh dominfo, dumpxml --inactive and virt-xml-validate on stdin',
    result: {
      xml: 'the rendered domain XML (states defined, started, autostart)',
      validation: 'what virt-xml-validate said, or that it is not installed',
      domain_state: 'virsh domstate afterwards (running, shut off, …; "undefined" when libvirt does not know it)',
      differences: 'settings that differed from the existing definition: [{setting, actual, wanted}]',
      forced: 'shutdown: whether the domain had to be destroyed after the timeout',
    },
    example: [
      '- name: define the converted guest on KVM',
      '  virsh_define:',
      '    name: "{{ xen.name }}"',
      '    uuid: "{{ xen.uuid }}"',
      '    memory_mb: 1024',
      '    vcpus: 2',
      '    disks:',
      '      - source: /dev/vg0/web1-disk',
      '    interfaces:',
      "      - mac: '00:16:3e:12:34:56'",
      '        bridge: br0',
      '    console_log: /var/log/libvirt/qemu/web1-console.log',
      '    state: started',
    ].join('\n'),
  },
  read: readVirsh,
  decide: decideVirsh,
  async result(ctx, p) {
    return { domain_state: await domstate(ctx, p) };
  },
});
