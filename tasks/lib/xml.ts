// Reading libvirt-style XML (domain XML of Xen and KVM guests) with fast-xml-parser: one parser
// setup and the helpers that narrow its untyped output one level at a time.
import type * as Fxp from 'fast-xml-parser';
import { lazyRequire } from '../../runner/lazy-require.js';

// fast-xml-parser (about 40 modules with its dependencies) is loaded by the first XML read, not by
// every run: the task registry loads this file for every playbook.
const fastXmlParser = lazyRequire<typeof Fxp>('fast-xml-parser');

/** A parser (made on first use) where attributes are `@name`, values stay strings, and the `repeated` elements are always arrays. */
export function xmlParser(repeated: Iterable<string>): { parse(xml: string): unknown } {
  const arrays = new Set(repeated);
  let parser: Fxp.XMLParser | undefined;
  const make = (): Fxp.XMLParser =>
    new (fastXmlParser().XMLParser)({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      isArray: (name) => arrays.has(name),
    });
  return { parse: (xml) => (parser ??= make()).parse(xml) as unknown };
}

/** Whether `xml` is well-formed: true, or where and why it is not (fast-xml-parser's validator). */
export function validateXml(xml: string): ReturnType<typeof Fxp.XMLValidator.validate> {
  return fastXmlParser().XMLValidator.validate(xml);
}

/** One parsed element: attributes as `@name`, children by tag name, text as `#text`. */
export type XmlNode = Record<string, unknown>;

/** The value as an element, or undefined when it is text, a list or missing. */
export function child(v: unknown): XmlNode | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as XmlNode) : undefined;
}

/**
 * The elements of a repeated tag. An empty element (<boot/>) parses as '': kept as an empty node
 * by default, dropped with keepEmpty false.
 */
export function children(v: unknown, keepEmpty = true): XmlNode[] {
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  const out: XmlNode[] = [];
  for (const x of list) {
    const n = child(x);
    if (n) out.push(n);
    else if (keepEmpty) out.push({});
  }
  return out;
}

/** Text content of an element that may have attributes ('' for an element without text). */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  const n = child(v);
  return n ? (typeof n['#text'] === 'string' ? n['#text'] : '') : undefined;
}

/** An attribute of an element. */
export function attr(v: unknown, name: string): string | undefined {
  const a = child(v)?.[`@${name}`];
  return typeof a === 'string' ? a : undefined;
}

/** Bytes per unit of libvirt's memory elements (formatdomain: "unit"; the default is KiB). */
export const BYTES_PER_MEMORY_UNIT: Readonly<Record<string, number>> = {
  b: 1,
  bytes: 1,
  KB: 1e3,
  k: 1024,
  KiB: 1024,
  MB: 1e6,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  GB: 1e9,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
  T: 1024 ** 4,
  TiB: 1024 ** 4,
};
