// libvirt domain XML for the virsh_define module: the variables the KVM domain template gets
// (every string XML-escaped here, since ferry's handlebars does no escaping), a reader that turns
// any libvirt domain XML (`virsh dumpxml`, libvirt's own test files) into the settings ferry
// manages, and a comparer that looks only at those settings — libvirt adds addresses,
// controllers, aliases, a canonical machine type and more, none of which means "changed".
import { attr, BYTES_PER_MEMORY_UNIT, child, children, textOf, validateXml, xmlParser } from '../lib/xml.js';
import { TaskFailedError } from '../../runner/errors.js';

/** One disk of the domain to define. */
export interface KvmDisk {
  source: string;
  target: string;
  type: 'block' | 'file';
  format: string;
  bus: string;
  cache: string;
  io: string;
  readonly: boolean;
}

/** One network interface of the domain to define; exactly one of bridge, network, user. */
export interface KvmInterface {
  mac?: string;
  bridge?: string;
  network?: string;
  user?: boolean;
  model: string;
  /** `<virtualport type=…>`: openvswitch for an Open vSwitch bridge. */
  virtualport?: string;
  /** VLAN tags (libvirt applies them on Open vSwitch bridges); trunk carries several. */
  vlan?: VlanTags;
}

/** The VLANs of an interface: Xen's vif-openvswitch writes them in the bridge name (`br.42`, `br:42:43`). */
export interface VlanTags {
  tags: number[];
  trunk: boolean;
}

/** A VLAN setting as one comparable value: `42` or `42,43 trunk`. */
export function vlanText(v: VlanTags): string {
  return `${v.tags.join(',')}${v.trunk ? ' trunk' : ''}`;
}

/** The domain the virsh_define module wants, after parameter defaults. Memory in MiB. */
export interface KvmDomain {
  name: string;
  uuid?: string;
  memoryMib: number;
  vcpus: number;
  domainType: 'kvm' | 'qemu';
  arch: string;
  machine: string;
  emulator?: string;
  disks: KvmDisk[];
  interfaces: KvmInterface[];
  /** Host file that gets the serial console's output (virtlogd writes it; truncated at each start). */
  consoleLog?: string;
  vnc?: { listen: string };
}

/** Escapes text for an XML attribute (single- or double-quoted) or element content. */
export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;');
}

/** The variables of templates/kvm-domain.xml.hbs for one domain; all strings already XML-escaped. */
export function domainTemplateVars(d: KvmDomain): Record<string, unknown> {
  const e = xmlEscape;
  // Every key is present (null when unset) so a strict template never meets an undefined name.
  return {
    domain_type: d.domainType,
    name: e(d.name),
    uuid: d.uuid !== undefined ? e(d.uuid) : null,
    memory_mib: d.memoryMib,
    vcpus: d.vcpus,
    arch: e(d.arch),
    machine: e(d.machine),
    emulator: d.emulator !== undefined ? e(d.emulator) : null,
    disks: d.disks.map((k) => ({
      type: k.type,
      source_attr: k.type === 'block' ? 'dev' : 'file',
      source: e(k.source),
      target: e(k.target),
      bus: e(k.bus),
      format: e(k.format),
      cache: e(k.cache),
      io: e(k.io),
      readonly: k.readonly,
    })),
    interfaces: d.interfaces.map((i) => {
      const [type, sourceAttr, source] =
        i.bridge !== undefined ? ['bridge', 'bridge', i.bridge] : i.network !== undefined ? ['network', 'network', i.network] : ['user', null, null];
      return {
        type,
        mac: i.mac !== undefined ? e(i.mac.toLowerCase()) : null,
        source_attr: sourceAttr,
        source: source !== null ? e(source) : null,
        model: e(i.model),
        virtualport: i.virtualport !== undefined ? e(i.virtualport) : null,
        vlan: i.vlan ? { trunk: i.vlan.trunk, tags: i.vlan.tags } : null,
      };
    }),
    console_log: d.consoleLog !== undefined ? e(d.consoleLog) : null,
    vnc: d.vnc ? { listen: e(d.vnc.listen) } : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading domain XML

/** A disk as the comparer sees it. Unset fields are "not managed" when this is the wanted side. */
export interface DiskSummary {
  type?: string;
  device?: string;
  source?: string;
  target?: string;
  bus?: string;
  driver?: string;
  format?: string;
  cache?: string;
  io?: string;
  readonly?: boolean;
}

/** An interface as the comparer sees it; source is the bridge or network name; vlan as vlanText writes it. */
export interface InterfaceSummary {
  type?: string;
  mac?: string;
  source?: string;
  model?: string;
  virtualport?: string;
  vlan?: string;
}

/** A serial port: its type, port and console log file. */
export interface SerialSummary {
  type?: string;
  port?: string;
  log?: string;
}

/** A console: its type and what it is attached to. */
export interface ConsoleSummary {
  type?: string;
  targetType?: string;
  port?: string;
}

/** A graphics device. */
export interface GraphicsSummary {
  type?: string;
  listen?: string;
}

/** The settings of a domain that ferry manages, read from any libvirt domain XML. */
export interface DomainSummary {
  type?: string;
  name?: string;
  uuid?: string;
  /** <memory>, in KiB whatever unit the XML used. */
  memoryKib?: number;
  vcpus?: number;
  os: { type?: string; arch?: string; machine?: string; boot: string[] };
  features: string[];
  onPoweroff?: string;
  onReboot?: string;
  onCrash?: string;
  emulator?: string;
  disks: DiskSummary[];
  interfaces: InterfaceSummary[];
  serials: SerialSummary[];
  consoles: ConsoleSummary[];
  graphics: GraphicsSummary[];
}

// Elements that may repeat are always arrays, so one disk and three disks read the same way.
const parser = xmlParser(['disk', 'interface', 'serial', 'console', 'graphics', 'boot']);

/** Drops keys whose value is undefined, so summaries compare and print cleanly. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** `<vlan [trunk='yes']><tag id='N'/>…</vlan>` as vlanText writes it. */
function readVlan(v: ReturnType<typeof child>): string | undefined {
  if (!v) return undefined;
  const tags = children(v.tag).map((t) => Number(attr(t, 'id')));
  return vlanText({ tags, trunk: attr(v, 'trunk') === 'yes' });
}

/** Reads a libvirt domain XML into the settings ferry manages; `where` names it in errors. */
export function parseDomainXml(xml: string, where = 'domain XML'): DomainSummary {
  const valid = validateXml(xml);
  if (valid !== true) {
    throw new TaskFailedError(`${where}: not well-formed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const domain = child(child(parser.parse(xml))?.domain);
  if (!domain) throw new TaskFailedError(`${where}: no <domain> element (expected the output of virsh dumpxml)`);
  const memText = textOf(domain.memory);
  let memoryKib: number | undefined;
  if (memText !== undefined) {
    const unit = attr(domain.memory, 'unit') ?? 'KiB';
    const bytes = BYTES_PER_MEMORY_UNIT[unit];
    if (bytes === undefined || !/^\d+$/.test(memText)) throw new TaskFailedError(`${where}: memory ${JSON.stringify(memText)} ${unit} not understood`);
    memoryKib = Math.round((Number(memText) * bytes) / 1024);
  }
  const vcpuText = textOf(domain.vcpu);
  const os = child(domain.os);
  const devices = child(domain.devices);
  return compact({
    type: attr(domain, 'type'),
    name: textOf(domain.name),
    uuid: textOf(domain.uuid)?.toLowerCase(),
    memoryKib,
    vcpus: vcpuText !== undefined && /^\d+$/.test(vcpuText) ? Number(vcpuText) : undefined,
    os: compact({
      type: textOf(os?.type),
      arch: attr(os?.type, 'arch'),
      machine: attr(os?.type, 'machine'),
      boot: children(os?.boot)
        .map((b) => attr(b, 'dev'))
        .filter((d): d is string => d !== undefined),
    }),
    features: Object.keys(child(domain.features) ?? {}).filter((k) => !k.startsWith('@') && k !== '#text'),
    onPoweroff: textOf(domain.on_poweroff),
    onReboot: textOf(domain.on_reboot),
    onCrash: textOf(domain.on_crash),
    emulator: textOf(devices?.emulator),
    disks: children(devices?.disk).map((d) =>
      compact({
        type: attr(d, 'type'),
        device: attr(d, 'device'),
        source: attr(d.source, 'dev') ?? attr(d.source, 'file') ?? attr(d.source, 'name') ?? attr(d.source, 'volume'),
        target: attr(d.target, 'dev'),
        bus: attr(d.target, 'bus'),
        driver: attr(d.driver, 'name'),
        format: attr(d.driver, 'type'),
        cache: attr(d.driver, 'cache'),
        io: attr(d.driver, 'io'),
        readonly: d.readonly !== undefined,
      }),
    ),
    interfaces: children(devices?.interface).map((i) =>
      compact({
        type: attr(i, 'type'),
        mac: attr(i.mac, 'address')?.toLowerCase(),
        source: attr(i.source, 'bridge') ?? attr(i.source, 'network') ?? attr(i.source, 'dev'),
        model: attr(i.model, 'type'),
        virtualport: attr(i.virtualport, 'type'),
        vlan: readVlan(child(i.vlan)),
      }),
    ),
    serials: children(devices?.serial).map((s) =>
      compact({ type: attr(s, 'type'), port: attr(s.target, 'port'), log: attr(s.log, 'file') }),
    ),
    consoles: children(devices?.console).map((c) =>
      compact({ type: attr(c, 'type'), targetType: attr(c.target, 'type'), port: attr(c.target, 'port') }),
    ),
    graphics: children(devices?.graphics).map((g) => compact({ type: attr(g, 'type'), listen: attr(g, 'listen') })),
  });
}

// ---------------------------------------------------------------------------------------------
// Comparing

/** libvirt expands a machine alias to the versioned type it stands for (`pc` → `pc-i440fx-7.2`). */
export function sameMachine(wanted: string | undefined, actual: string | undefined): boolean {
  if (wanted === undefined || wanted === actual) return true;
  if (actual === undefined) return false;
  const family: Record<string, string> = { pc: 'pc-i440fx-', q35: 'pc-q35-' };
  return actual.startsWith(family[wanted] ?? `${wanted}-`);
}

/** Keeps from `actual` the fields `wanted` sets (wanted's value where the two mean the same). */
function projectDisk(w: DiskSummary | undefined, a: DiskSummary): DiskSummary {
  if (!w) return a;
  const out: DiskSummary = {};
  for (const k of Object.keys(w) as (keyof DiskSummary)[]) (out as Record<string, unknown>)[k] = a[k];
  // libvirt omits <readonly/> when false: absent and false are the same.
  if (w.readonly === false && a.readonly === undefined) out.readonly = false;
  return compact(out);
}

function projectFields<T extends object>(w: T | undefined, a: T): T {
  if (!w) return a;
  const out = {} as T;
  for (const k of Object.keys(w) as (keyof T)[]) out[k] = a[k];
  return compact(out);
}

/**
 * `actual` cut down to what `wanted` manages, with equal-by-meaning values written as wanted
 * writes them, so that the two can be compared and diffed line by line.
 */
export function projectActual(wanted: DomainSummary, actual: DomainSummary): DomainSummary {
  const byTarget = new Map(wanted.disks.map((d) => [d.target, d]));
  return compact({
    type: actual.type,
    name: actual.name,
    uuid: wanted.uuid !== undefined ? actual.uuid : undefined,
    memoryKib: actual.memoryKib,
    vcpus: actual.vcpus,
    os: compact({
      type: actual.os.type,
      arch: wanted.os.arch !== undefined ? actual.os.arch : undefined,
      machine: wanted.os.machine === undefined ? undefined : sameMachine(wanted.os.machine, actual.os.machine) ? wanted.os.machine : actual.os.machine,
      boot: actual.os.boot,
    }),
    // Features libvirt may add on its own (pae, vmport) are not ferry's; missing wanted ones are.
    features: wanted.features.filter((f) => actual.features.includes(f)),
    onPoweroff: wanted.onPoweroff !== undefined ? actual.onPoweroff : undefined,
    onReboot: wanted.onReboot !== undefined ? actual.onReboot : undefined,
    onCrash: wanted.onCrash !== undefined ? actual.onCrash : undefined,
    emulator: wanted.emulator !== undefined ? actual.emulator : undefined,
    disks: actual.disks.map((d) => projectDisk(byTarget.get(d.target), d)),
    // A virtualport or VLAN the domain has is a difference even when the wanted one has none.
    interfaces: actual.interfaces.map((i, n) => compact({ ...projectFields(wanted.interfaces[n], i), virtualport: i.virtualport, vlan: i.vlan })),
    // log is compared even when wanted has none: a log file left over is a difference.
    serials: actual.serials.map((s) => compact({ type: s.type, port: s.port, log: s.log })),
    consoles: actual.consoles.map((c, n) => projectFields(wanted.consoles[n], c)),
    graphics: actual.graphics.map((g, n) => projectFields(wanted.graphics[n], g)),
  });
}

/** The summary as flat `setting: value` pairs, in a stable order (for differences and diffs). */
export function flattenSummary(s: DomainSummary): [string, string][] {
  const out: [string, string][] = [];
  const put = (k: string, v: unknown): void => {
    if (v !== undefined) out.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  };
  put('domain type', s.type);
  put('name', s.name);
  put('uuid', s.uuid);
  put('memory', s.memoryKib !== undefined ? `${s.memoryKib} KiB` : undefined);
  put('vcpus', s.vcpus);
  put('os type', s.os.type);
  put('os arch', s.os.arch);
  put('os machine', s.os.machine);
  put('boot', s.os.boot.join(','));
  put('features', s.features.join(','));
  put('on_poweroff', s.onPoweroff);
  put('on_reboot', s.onReboot);
  put('on_crash', s.onCrash);
  put('emulator', s.emulator);
  put('disks', s.disks.map((d) => d.target ?? '?').join(','));
  for (const d of s.disks) {
    const t = `disk ${d.target ?? '?'}`;
    for (const k of ['type', 'device', 'source', 'bus', 'driver', 'format', 'cache', 'io', 'readonly'] as const) put(`${t} ${k}`, d[k]);
  }
  put('interfaces', s.interfaces.length);
  s.interfaces.forEach((i, n) => {
    for (const k of ['type', 'mac', 'source', 'model', 'virtualport', 'vlan'] as const) put(`interface ${n + 1} ${k}`, i[k]);
  });
  put('serial ports', s.serials.length);
  s.serials.forEach((x, n) => {
    put(`serial ${n + 1} type`, x.type);
    put(`serial ${n + 1} port`, x.port);
    put(`serial ${n + 1} log`, x.log ?? '(none)');
  });
  put('consoles', s.consoles.length);
  s.consoles.forEach((c, n) => {
    for (const k of ['type', 'targetType', 'port'] as const) put(`console ${n + 1} ${k === 'targetType' ? 'target' : k}`, c[k]);
  });
  put('graphics', s.graphics.map((g) => g.type ?? '?').join(','));
  s.graphics.forEach((g, n) => put(`graphics ${n + 1} listen`, g.listen));
  return out;
}

/** One setting that differs between the domain as defined and as wanted. */
export interface DomainDifference {
  setting: string;
  actual?: string;
  wanted?: string;
}

/** The settings ferry manages that differ between `actual` (libvirt's XML) and `wanted` (the rendered XML). */
export function domainDifferences(wanted: DomainSummary, actual: DomainSummary): DomainDifference[] {
  const w = new Map(flattenSummary(wanted));
  const a = new Map(flattenSummary(projectActual(wanted, actual)));
  const out: DomainDifference[] = [];
  for (const key of new Set([...w.keys(), ...a.keys()])) {
    if (w.get(key) !== a.get(key)) out.push(compact({ setting: key, actual: a.get(key), wanted: w.get(key) }));
  }
  return out;
}

/** The compared settings as text, one `setting: value` a line: the before/after of the module's diff. */
export function formatSummary(s: DomainSummary): string {
  return flattenSummary(s)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}

/** Formats differences for a plan's reason or step title: `memory 524288 KiB → 1048576 KiB`. */
export function describeDifferences(diffs: DomainDifference[]): string {
  return diffs.map((d) => `${d.setting} ${d.actual ?? '(none)'} → ${d.wanted ?? '(none)'}`).join('; ');
}
