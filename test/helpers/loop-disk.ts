// Loop-attached disk images with a partition table, for the tests that need a real whole disk.
import { execFileSync } from 'node:child_process';

/** Attaches an image that holds a partition table (losetup -P) and waits for its first partition's node; returns the loop device. */
export function attachPartitionedImage(image: string): string {
  const loop = execFileSync('losetup', ['-P', '-f', '--show', image]).toString().trim();
  // the kernel's scan at attach time does not always see the table here; partx asks again
  execFileSync('sh', ['-c', 'for i in $(seq 50); do [ -b "$1p1" ] && exit 0; partx -a "$1" 2>/dev/null; sleep 0.1; done; exit 1', 'sh', loop]);
  return loop;
}
