// e2fsck's exit code is a bit mask (e2fsck(8)); dumpe2fs -h gives the size of an ext filesystem.

/** What an e2fsck exit code means for a task. */
export interface FsckOutcome {
  ok: boolean;
  /** e2fsck changed the filesystem (it corrected errors). */
  changed: boolean;
  /** The system should be rebooted (a mounted root was fixed). */
  reboot: boolean;
  meaning: string;
}

const BITS: [number, string][] = [
  [4, 'errors left uncorrected'],
  [8, 'operational error (device missing, busy or mounted?)'],
  [16, 'usage or syntax error'],
  [32, 'cancelled by the user'],
  [128, 'shared library error'],
];

/** Maps an e2fsck exit code: 0 and 1 are success, 2 is success that wants a reboot, 4 and above are failures. */
export function interpretE2fsckExit(code: number | null): FsckOutcome {
  if (code === null) return { ok: false, changed: false, reboot: false, meaning: 'e2fsck was killed' };
  if (code === 0) return { ok: true, changed: false, reboot: false, meaning: 'no errors' };
  const failures = BITS.filter(([bit]) => code & bit).map(([, m]) => m);
  const changed = (code & 1) !== 0 || (code & 2) !== 0;
  const reboot = (code & 2) !== 0;
  if (failures.length) return { ok: false, changed, reboot, meaning: failures.join('; ') };
  return { ok: true, changed, reboot, meaning: reboot ? 'errors corrected, the system should be rebooted' : 'errors corrected' };
}

/** The header of an ext2/3/4 filesystem, as far as a resize needs it. */
export interface ExtHeader {
  blockCount: number;
  blockSize: number;
  sizeBytes: number;
  uuid: string;
  state: string;
  volumeName: string;
}

/** Parses `dumpe2fs -h DEV` (header only). */
export function parseDumpe2fsHeader(stdout: string): ExtHeader {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) kv.set(m[1]!.trim(), m[2]!.trim());
  }
  const blockCount = Number(kv.get('Block count'));
  const blockSize = Number(kv.get('Block size'));
  if (!Number.isFinite(blockCount) || !Number.isFinite(blockSize) || !blockCount || !blockSize) {
    throw new Error('dumpe2fs -h: no "Block count" / "Block size" in the output (is this an ext2/3/4 filesystem?)');
  }
  const volumeName = kv.get('Filesystem volume name') ?? '';
  return {
    blockCount,
    blockSize,
    sizeBytes: blockCount * blockSize,
    uuid: kv.get('Filesystem UUID') ?? '',
    state: kv.get('Filesystem state') ?? '',
    volumeName: volumeName === '<none>' ? '' : volumeName,
  };
}
