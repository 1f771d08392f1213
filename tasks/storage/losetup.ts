// Loop devices: `losetup -j FILE` lines ("/dev/loop0: [65024]:2146803 (/tmp/a.img)").

/** One loop device attached to a file. */
export interface LoopDevice {
  device: string;
  backingFile: string;
}

/** Parses `losetup -j FILE` (or `losetup -a`) output. */
export function parseLosetupList(stdout: string): LoopDevice[] {
  const out: LoopDevice[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\/dev\/loop\d+): \[[^\]]*\]:\d+ \((.*)\)\s*$/.exec(line);
    if (m) out.push({ device: m[1]!, backingFile: m[2]! });
  }
  return out;
}
