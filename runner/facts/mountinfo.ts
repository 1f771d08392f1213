// /proc/self/mountinfo parsed (proc(5)): fields are space separated, and space, tab, newline and
// backslash inside paths are written as octal escapes (\040, \011, \012, \134).

/** One mount as the kernel lists it. */
export interface MountEntry {
  id: number;
  parentId: number;
  majorMinor: string;
  /** The directory of the filesystem that is mounted here ('/' unless a bind of a subdirectory). */
  root: string;
  mountPoint: string;
  options: string[];
  optional: string[];
  fstype: string;
  source: string;
  superOptions: string[];
}

/** Decodes the octal escapes the kernel writes in mountinfo paths. */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses the whole of /proc/self/mountinfo. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) throw new Error(`mountinfo: line not understood: ${line}`);
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      majorMinor: f[2]!,
      root: unescapeOctal(f[3]!),
      mountPoint: unescapeOctal(f[4]!),
      options: f[5]!.split(','),
      optional: f.slice(6, sep),
      fstype: f[sep + 1]!,
      source: unescapeOctal(f[sep + 2]!),
      superOptions: (f[sep + 3] ?? '').split(',').filter(Boolean),
    });
  }
  return out;
}
