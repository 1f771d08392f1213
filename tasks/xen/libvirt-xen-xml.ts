// libvirt domain XML (`virsh dumpxml` of a Xen domain) -> XenGuest, the same model an xl.cfg gives.
import { ValidationError, type Problem } from '../../runner/errors.js';
import { attr, BYTES_PER_MEMORY_UNIT, child, children, textOf, validateXml, xmlParser, type XmlNode } from '../lib/xml.js';
import type { XenDisk, XenGuest, XenVif } from './guest.js';

// Elements that may repeat are always arrays, so one disk and three disks read the same way.
const parser = xmlParser(['disk', 'interface', 'ip', 'tag', 'host']);

type Node = XmlNode;
const node = child;
const text = textOf;
/** The elements of a repeated tag; empty ones (<disk/>) say nothing and are dropped. */
const nodes = (v: unknown): Node[] => children(v, false);

/** 1-based line of the first `<tag` in the XML (the parser does not keep positions). */
function lineOf(xml: string, tag: string): number {
  const at = xml.search(new RegExp(`<${tag}[\\s>/]`));
  return at < 0 ? 1 : xml.slice(0, at).split('\n').length;
}

function mib(v: unknown, loc: { file: string; line: number }, problems: Problem[]): number | undefined {
  const t = text(v);
  if (t === undefined) return undefined;
  const unit = attr(v, 'unit') ?? 'KiB';
  const bytes = BYTES_PER_MEMORY_UNIT[unit];
  if (bytes === undefined || !/^\d+$/.test(t)) {
    problems.push({ loc, message: `memory value ${JSON.stringify(t)} ${unit} not understood` });
    return undefined;
  }
  return Math.round((Number(t) * bytes) / 1048576);
}

const DRIVER_TO_BACKEND: Record<string, string> = { phy: 'phy', qemu: 'qdisk', tap: 'tap', tap2: 'tap', file: 'qdisk' };

function readDisk(d: Node): XenDisk {
  const source = node(d.source);
  const driver = node(d.driver);
  const disk: XenDisk = {
    format: attr(driver, 'type') ?? 'raw',
    access: d.readonly !== undefined ? 'ro' : 'rw',
    devtype: attr(d, 'device') === 'cdrom' ? 'cdrom' : 'disk',
  };
  const src = attr(source, 'dev') ?? attr(source, 'file') ?? attr(source, 'name');
  if (src !== undefined) disk.source = src;
  const protocol = attr(source, 'protocol');
  if (protocol !== undefined) disk.protocol = protocol;
  const vdev = attr(d.target, 'dev');
  if (vdev !== undefined) disk.vdev = vdev;
  const backend = DRIVER_TO_BACKEND[attr(driver, 'name') ?? ''];
  if (backend !== undefined) disk.backendtype = backend;
  return disk;
}

function readInterface(i: Node): XenVif {
  const vif: XenVif = {};
  const set = <K extends keyof XenVif>(k: K, v: XenVif[K] | undefined) => {
    if (v !== undefined) vif[k] = v;
  };
  set('mac', attr(i.mac, 'address')?.toLowerCase());
  set('bridge', attr(i.source, 'bridge'));
  // libvirt writes xl's `type=vif` (a PV-only interface, no emulated NIC) as model netfront.
  const model = attr(i.model, 'type');
  if (model === 'netfront') vif.type = 'vif';
  else set('model', model);
  set('vifname', attr(i.target, 'dev'));
  set('script', attr(i.script, 'path'));
  const ips = nodes(i.ip)
    .map((n) => attr(n, 'address'))
    .filter((a): a is string => a !== undefined);
  if (ips.length) vif.ip = ips;
  // xl's rate=N<unit>/s is libvirt's outbound average in KB/s.
  const average = attr(node(i.bandwidth)?.outbound, 'average');
  if (average !== undefined) vif.rate = `${average}KB/s`;
  const vlan = node(i.vlan);
  if (vlan) {
    vif.vlan = {
      tags: nodes(vlan.tag).map((t) => Number(attr(t, 'id'))),
      trunk: attr(vlan, 'trunk') === 'yes',
    };
  }
  return vif;
}

/** Parses libvirt domain XML into a XenGuest; throws ValidationError (file:line) on malformed XML. */
export function parseDomainXml(xml: string, file: string): XenGuest {
  const valid = validateXml(xml);
  if (valid !== true) {
    throw new ValidationError([
      { loc: { file, line: valid.err.line, col: valid.err.col }, message: `not well-formed XML: ${valid.err.msg}` },
    ]);
  }
  const domain = node(node(parser.parse(xml))?.domain);
  if (!domain) throw new ValidationError([{ loc: { file, line: 1 }, message: 'no <domain> element', hint: 'expected the output of virsh dumpxml' }]);
  const problems: Problem[] = [];
  const os = node(domain.os);
  const osType = text(os?.type);
  const type: XenGuest['type'] = osType === 'hvm' ? 'hvm' : osType === 'xenpvh' ? 'pvh' : 'pv';
  const devices = node(domain.devices);
  const guest: XenGuest = {
    file,
    origin: 'libvirt-xml',
    type,
    disks: nodes(devices?.disk).map(readDisk),
    vifs: nodes(devices?.interface).map(readInterface),
    extra: {},
    lines: {},
  };
  const set = <K extends keyof XenGuest>(k: K, v: XenGuest[K] | undefined) => {
    if (v !== undefined && v !== '') guest[k] = v;
  };
  set('name', text(domain.name));
  set('uuid', text(domain.uuid)?.toLowerCase());
  // libvirt: <memory> is the maximum (xl maxmem), <currentMemory> the boot allocation (xl memory).
  const maxmem = mib(domain.memory, { file, line: lineOf(xml, 'memory') }, problems);
  set('maxmem', maxmem);
  set('memory', mib(domain.currentMemory, { file, line: lineOf(xml, 'currentMemory') }, problems) ?? maxmem);
  const vcpuText = text(domain.vcpu);
  if (vcpuText !== undefined && /^\d+$/.test(vcpuText)) {
    guest.maxvcpus = Number(vcpuText);
    const current = attr(domain.vcpu, 'current');
    guest.vcpus = current !== undefined ? Number(current) : guest.maxvcpus;
  }
  set('bootloader', text(domain.bootloader));
  set('bootloaderArgs', text(domain.bootloader_args));
  set('kernel', text(os?.kernel));
  set('ramdisk', text(os?.initrd));
  set('cmdline', text(os?.cmdline));
  if (problems.length) throw new ValidationError(problems);
  return guest;
}
