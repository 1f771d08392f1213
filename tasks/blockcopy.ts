// The `blockcopy` module: copy the first `size` bytes of a device or image with dd, on one host or
// between two hosts through the controller (no SSH trust between the hosts) or, with `direct`, by
// the destination host's own ssh to the source host, and verify the copy.
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { asArgument, joinCommands, sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Step, type TaskContext, type Verdict } from '../runner/module.js';
import { humanBytes } from '../runner/reporter/format.js';
import { describeFailure, runsOn } from '../runner/task-context.js';
import { directFailure, directField, type DirectSsh, directSsh, sshTarget, sshWords } from './lib/direct-ssh.js';
import { copyEnds } from './lib/peer.js';
import { absolutePathField } from './lib/schema.js';
import { ddCopiedBytes, parseDdProgress, withEta } from './copy/dd-progress.js';
import { availableCommands, deviceSize, pathKind } from './storage/facts.js';
import { recordSplitter } from './storage/records.js';
import { largestPow2Divisor, parseBytes } from './storage/sizes.js';

const MAX_BS = 4 * 1024 * 1024;
const MIN_EXACT_BS = 64 * 1024;

// compress: auto samples the source before compressing a range this big: random or already
// compressed data (encrypted volumes, media, the benchmark's urandom image) goes through a
// compressor at pure CPU cost; zstd took a quarter off the throughput of 1 GiB of random data
// between two loopback hosts (bench/blockcopy-two-hosts.ts). Below this size the sample would
// cost about what it could save.
const SAMPLE_MIN_BYTES = 64 * 1024 * 1024;
const SAMPLE_CHUNKS = 16;
const SAMPLE_CHUNK_BYTES = 1024 * 1024;
/** auto keeps compression only when the sample shrinks to at most this fraction of its size. */
const WORTH_COMPRESSING = 0.9;

const params = z.strictObject({
  src: absolutePathField('Source block device or image file (absolute path)'),
  dest: absolutePathField('Destination block device or image file, absolute (an image file is created if missing; never truncated)'),
  size: z
    .union([z.string(), z.number().int().positive()])
    .optional()
    .describe('How many bytes to copy (bytes, 2048s, 512M, 10G); default: the whole source'),
  src_host: z.string().optional().describe('Inventory host holding src (default: the task\'s host)'),
  dest_host: z.string().optional().describe('Inventory host holding dest (default: the task\'s host)'),
  verify: z.enum(['sha256', 'cmp', 'none']).default('sha256').describe('Check the copied range afterwards: sha256 on both ends, cmp (same host only), or none'),
  bs: z
    .union([z.string(), z.number().int().positive()])
    .optional()
    .describe('dd block size; default: the largest power of two dividing size, at most 4 MiB'),
  compress: z
    .enum(['auto', 'zstd', 'gzip', 'none'])
    .default('auto')
    .describe(
      'Between hosts: compress the stream (auto: zstd when both ends have it, else gzip, else none; ' +
        'from 64 MiB on, none when 16 MiB sampled across the range would not shrink by 10%)',
    ),
  direct: directField,
  compare: z
    .boolean()
    .default(true)
    .describe(
      'Read both ends first and make no change when the range already matches (as costly as the copy itself: what makes check mode exact and a second run ok). ' +
        'false: always copy, for a destination known to need it (a new LV a guard has checked), where that read would double the work',
    ),
});

type Params = z.output<typeof params>;
/** The compression a copy between hosts uses: what auto resolves to. */
type Compression = Exclude<Params['compress'], 'auto'>;
type Packer = Exclude<Compression, 'none'>;

/** How dd should cut `size` bytes into blocks: an exact bs×count, or a big bs with iflag=count_bytes. */
export function ddGeometry(size: number, bs?: number): { bs: number; count: number; countBytes: boolean } {
  if (bs !== undefined) {
    return size % bs === 0 ? { bs, count: size / bs, countBytes: false } : { bs, count: size, countBytes: true };
  }
  const p = largestPow2Divisor(size, MAX_BS);
  // A size with only a small power-of-two factor would mean tiny blocks: count bytes instead.
  if (p < MIN_EXACT_BS) return { bs: MAX_BS, count: size, countBytes: true };
  return { bs: p, count: size / p, countBytes: false };
}

// dd takes key=value operands: a path always follows if=/of=, so none can be read as an option.
function readCommand(src: string, g: ReturnType<typeof ddGeometry>, progress: boolean): Command {
  const iflag = g.countBytes ? 'iflag=fullblock,count_bytes' : 'iflag=fullblock';
  return sh`dd ${`if=${src}`} ${`bs=${g.bs}`} ${`count=${g.count}`} ${iflag} ${progress ? 'status=progress' : 'status=none'}`;
}

function writeCommand(dest: string, bs: number): Command {
  // notrunc: an image file keeps its size; fsync: the data is on disk before verify reads it back.
  // The default status prints the final "N bytes copied" line the relay checks.
  return sh`dd ${`of=${dest}`} ${`bs=${bs}`} iflag=fullblock conv=notrunc,fsync`;
}

/** sha256 of the first `size` bytes of a device or file. */
async function rangeSha256(ctx: TaskContext, path: string, size: number): Promise<string> {
  const r = await ctx.runOk(joinCommands([sh`head -c ${size} -- ${path}`, sh`sha256sum`], '|'));
  const h = r.stdout.trim().split(/\s+/)[0] ?? '';
  if (!/^[0-9a-f]{64}$/.test(h)) throw new TaskFailedError(`sha256sum of ${path}: unexpected output '${r.stdout.trim()}'`);
  return h;
}

/** The 1 MiB block numbers of the compressibility sample: SAMPLE_CHUNKS spread evenly over the first `size` bytes. */
export function sampleBlocks(size: number): number[] {
  const n = Math.floor(size / SAMPLE_CHUNK_BYTES);
  if (n <= SAMPLE_CHUNKS) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: SAMPLE_CHUNKS }, (_, i) => Math.round((i * (n - 1)) / (SAMPLE_CHUNKS - 1)));
}

function packCommand(c: Packer): Command {
  return c === 'zstd' ? sh`zstd -q -c -T0 -3` : sh`gzip -c -1`;
}

/** The compressed size of a sample of the range over its raw size, with the compressor the copy would use. */
async function sampleRatio(s: TaskContext, src: string, size: number, c: Packer): Promise<number> {
  const blocks = sampleBlocks(size);
  const reads = joinCommands(
    blocks.map((b) => sh`dd ${`if=${src}`} ${`bs=${SAMPLE_CHUNK_BYTES}`} ${`skip=${b}`} count=1 status=none`),
    ';',
  );
  const r = await s.runOk(sh`{ ${reads}; } | ${packCommand(c)} | wc -c`);
  const packed = Number(r.stdout.trim());
  if (!Number.isSafeInteger(packed)) throw new TaskFailedError(`sampling ${src} on ${s.host}: '${r.stdout.trim()}' is not a byte count`);
  return packed / (blocks.length * SAMPLE_CHUNK_BYTES);
}

async function pickCompression(s: TaskContext, d: TaskContext, p: Params, size: number): Promise<Compression> {
  const want = p.compress;
  if (want === 'none') return 'none';
  const candidates = want === 'auto' ? (['zstd', 'gzip'] as const) : [want];
  const [onSrc, onDest] = await Promise.all([availableCommands(s, candidates), availableCommands(d, candidates)]);
  const c = candidates.find((x) => onSrc.has(x) && onDest.has(x));
  if (!c) {
    if (want !== 'auto') throw new TaskFailedError(`compress: ${want} is not installed on both ${s.host} and ${d.host}`);
    return 'none';
  }
  if (want === 'auto' && size >= SAMPLE_MIN_BYTES && (await sampleRatio(s, p.src, size, c)) > WORTH_COMPRESSING) return 'none';
  return c;
}

/** The two ends of a copy between hosts: the reader (dd with progress, then the compressor) and the writer (the decompressor, then dd). */
function streamEnds(p: Pick<Params, 'src' | 'dest'>, g: ReturnType<typeof ddGeometry>, comp: Compression): { reader: Command; writer: Command } {
  const read = readCommand(p.src, g, true);
  const write = writeCommand(p.dest, MAX_BS);
  if (comp === 'none') return { reader: read, writer: write };
  return {
    reader: joinCommands([read, packCommand(comp)], '|'),
    writer: joinCommands([comp === 'zstd' ? sh`zstd -q -d -c` : sh`gzip -d -c`, write], '|'),
  };
}

/** Streams src on one host to dest on another through the controller, with backpressure; returns the compression used. */
async function relayCopy(
  s: TaskContext,
  d: TaskContext,
  p: Params,
  size: number,
  g: ReturnType<typeof ddGeometry>,
  report: TaskContext,
): Promise<Compression> {
  const comp = await pickCompression(s, d, p, size);
  // POSIX sh has no pipefail, so a failing reader dd inside `dd | zstd` could exit 0: the writer's
  // count of bytes received is what proves the copy complete.
  const { reader, writer } = streamEnds(p, g, comp);
  const src = await s.transport.spawn(reader, { become: s.become });
  const dst = await d.transport.spawn(writer, { become: d.become });
  let srcErr = '';
  let dstErr = '';
  src.stderr.on(
    'data',
    recordSplitter((line) => {
      const pr = parseDdProgress(line);
      if (pr) report.progress(withEta(pr, size));
      else srcErr += line + '\n';
    }),
  );
  dst.stderr.on('data', (c: Buffer) => (dstErr += c.toString()));
  // The reader needs no input; the writer prints nothing on stdout, but an SSH channel only closes
  // (and reports its exit) once its output has been read to the end.
  src.stdin.end();
  dst.stdout.resume();
  // A broken pipe is reported through the exit codes below, which say which end failed.
  const piped = await pipeline(src.stdout, dst.stdin).then(
    () => undefined,
    (e: unknown) => e,
  );
  const [rs, rd] = await Promise.all([src.done, dst.done]);
  if (rs.exitCode !== 0) throw new TaskFailedError(`reading ${p.src} on ${s.host} failed (exit ${rs.exitCode}): ${srcErr.trim()}`);
  if (rd.exitCode !== 0) throw new TaskFailedError(`writing ${p.dest} on ${d.host} failed (exit ${rd.exitCode}): ${dstErr.trim()}`);
  if (piped) throw new TaskFailedError(`streaming ${s.host} → ${d.host} failed: ${(piped as Error).message}`, {}, { cause: piped });
  const got = ddCopiedBytes(dstErr);
  if (got !== size) throw new TaskFailedError(`${d.host} wrote ${got ?? 'no'} bytes to ${p.dest}, expected ${size}: the stream was cut short\n${srcErr}${dstErr}`);
  return comp;
}

/**
 * The pipeline on dest's host of a direct copy: its own ssh runs the reader on src's host (under
 * `sudo -n` when the login is not root), and the writer's dd reports on stdout, apart from the
 * reader's progress and ssh's own words on stderr.
 */
export function directCopyCommand(p: Pick<Params, 'src' | 'dest'>, g: ReturnType<typeof ddGeometry>, d: DirectSsh, comp: Compression): Command {
  const { reader, writer } = streamEnds(p, g, comp);
  const remote = d.sudo ? sh`sudo -n sh -c ${asArgument(reader)}` : reader;
  return sh`${sshWords(d)} -- ${sshTarget(d)} ${asArgument(remote)} | ${writer} 2>&1`;
}

/** dest's host pulls the range from src's host with its own ssh; the controller only watches. Returns the compression used. */
async function directCopy(
  s: TaskContext,
  d: TaskContext,
  p: Params,
  size: number,
  g: ReturnType<typeof ddGeometry>,
  via: DirectSsh,
  report: TaskContext,
): Promise<Compression> {
  const comp = await pickCompression(s, d, p, size);
  let err = '';
  const r = await d.run(directCopyCommand(p, g, via, comp), {
    onStderr: recordSplitter((line) => {
      const pr = parseDdProgress(line);
      if (pr) report.progress(withEta(pr, size));
      else err += line + '\n';
    }),
  });
  // POSIX sh has no pipefail: the writer's count of bytes is what proves the copy complete
  const got = ddCopiedBytes(r.stdout);
  if (r.exitCode !== 0 || got !== size) {
    const why = r.exitCode !== 0 ? `exit ${r.exitCode}` : `${got ?? 'no'} bytes written to ${p.dest}, expected ${size}: the stream was cut short`;
    throw new TaskFailedError(`${directFailure('dd', via, s.host, d.host)}: ${why}\n${err.trim()}${r.stdout.trim() && !got ? `\n${r.stdout.trim()}` : ''}`.trim());
  }
  return comp;
}

/** The one dd of a copy on one host. */
function localCopyCommand(p: Params, g: ReturnType<typeof ddGeometry>): Command {
  const iflag = g.countBytes ? 'iflag=fullblock,count_bytes' : 'iflag=fullblock';
  return sh`dd ${`if=${p.src}`} ${`of=${p.dest}`} ${`bs=${g.bs}`} ${`count=${g.count}`} ${iflag} conv=notrunc,fsync status=progress`;
}

async function localCopy(c: TaskContext, p: Params, size: number, g: ReturnType<typeof ddGeometry>): Promise<void> {
  const cmd = localCopyCommand(p, g);
  let err = '';
  const r = await c.run(cmd, {
    onStderr: recordSplitter((line) => {
      const pr = parseDdProgress(line);
      if (pr) c.progress(withEta(pr, size));
      err += line + '\n';
    }),
  });
  if (r.exitCode !== 0) throw new TaskFailedError(describeFailure(r));
  const got = ddCopiedBytes(err);
  if (got !== size) throw new TaskFailedError(`dd copied ${got ?? 'no'} bytes from ${p.src}, expected ${size} (is the source shorter?)`);
}

/** What blockcopy's read found; it stops reading where decide will refuse (nothing after a refusal is read). */
export interface BlockcopyFacts {
  /** The task's host, and the hosts of the two ends. */
  host: string;
  srcHost: string;
  destHost: string;
  /** The source's size in bytes (blockdev --getsize64, or stat for a file). */
  srcSize?: number;
  /** What dest is, and a block device's size. */
  destKind?: 'block' | 'file' | 'dir' | 'other' | 'missing';
  destSize?: number;
  /** Whether the range already matches (cmp -s on one host, sha256 on both between hosts); read only when dest exists and nothing refuses. */
  same?: boolean;
  /** Between two hosts with `direct`: how dest's host reaches src's (its ssh was tried in the read). */
  direct?: DirectSsh;
}

/**
 * Whether both ends are the task's host: one dd there. Otherwise the copy is relayed through the controller
 * (also between two ends on one other host: each end has its own connection).
 */
const onTaskHost = (f: BlockcopyFacts): boolean => f.srcHost === f.host && f.destHost === f.host;

/** size and bs as bytes, or why one of them is not a size; pure. */
function parseSizes(p: Params, srcSize: number | undefined): { size?: number; bs?: number } | { refused: string } {
  try {
    return { size: p.size !== undefined ? parseBytes(p.size) : srcSize, bs: p.bs !== undefined ? parseBytes(p.bs) : undefined };
  } catch (e) {
    return { refused: (e as Error).message };
  }
}

/** The copy's size and block size, or why it cannot be done (cmp between hosts, sizes, the ends); pure. */
function checkEnds(p: Params, f: BlockcopyFacts): { size: number; bs?: number } | { refused: string } {
  if (p.verify === 'cmp' && !onTaskHost(f)) return { refused: 'verify: cmp needs src and dest on one host; use sha256 between hosts' };
  const sizes = parseSizes(p, f.srcSize);
  if ('refused' in sizes) return sizes;
  const srcSize = f.srcSize!;
  const size = sizes.size!;
  if (size > srcSize) return { refused: `size ${humanBytes(size)} is more than ${p.src} on ${f.srcHost} holds (${humanBytes(srcSize)})` };
  if (f.destKind === 'block' && f.destSize! < size) return { refused: `${p.dest} on ${f.destHost} holds ${humanBytes(f.destSize!)}, less than the ${humanBytes(size)} to copy` };
  if (f.destKind !== 'block' && f.destKind !== 'file' && f.destKind !== 'missing') return { refused: `${p.dest} on ${f.destHost} is a ${f.destKind}, not a block device or file` };
  return { size, ...(sizes.bs !== undefined ? { bs: sizes.bs } : {}) };
}

/** Reads both ends (sizes, what dest is) and, when dest exists and nothing refuses, whether the range already matches. */
async function readBlockcopy(ctx: TaskContext, p: Params): Promise<BlockcopyFacts> {
  const { src: s, dest: d } = await copyEnds(ctx, p.src_host, p.dest_host);
  const f: BlockcopyFacts = { host: runsOn(ctx), srcHost: s.host, destHost: d.host };
  if (p.verify === 'cmp' && s !== d) return f;
  // a size that is not one is refused before the source is read (a bad bs too, when size is given)
  if (p.size !== undefined && 'refused' in parseSizes(p, undefined)) return f;
  f.srcSize = await deviceSize(s, p.src);
  const sizes = parseSizes(p, f.srcSize);
  if ('refused' in sizes || sizes.size! > f.srcSize) return f;
  f.destKind = await pathKind(d, p.dest);
  if (f.destKind === 'block') f.destSize = await deviceSize(d, p.dest);
  const ends = checkEnds(p, f);
  if ('refused' in ends) return f;
  const via = s !== d ? directSsh(p.direct, s) : undefined;
  if (via) {
    // the plan holds only when dest's host can log in to src's (and sudo there): tried now, in --check too
    const probe = await d.run(sh`${sshWords(via)} -- ${sshTarget(via)} ${via.sudo ? 'sudo -n true' : 'true'}`);
    if (probe.exitCode !== 0) throw new TaskFailedError(`${directFailure('dd', via, s.host, d.host)}: ${probe.stderr.trim() || `exit ${probe.exitCode}`}`);
    f.direct = via;
  }
  if (f.destKind === 'missing' || !p.compare) return f;
  // as costly as the copy: what makes check mode exact and a second run ok
  if (s === d) {
    f.same = (await s.run(sh`cmp -s -n ${ends.size} -- ${p.src} ${p.dest}`)).exitCode === 0;
  } else {
    const [a, b] = await Promise.all([rangeSha256(s, p.src, ends.size), rangeSha256(d, p.dest, ends.size)]);
    f.same = a === b;
  }
  return f;
}

/** Decides blockcopy (pure): no change when the range already matches, else dd (with progress, relayed between hosts) and the verify. */
export function decideBlockcopy(p: Params, f: BlockcopyFacts): Verdict {
  const ends = checkEnds(p, f);
  if ('refused' in ends) return ends;
  const { size } = ends;
  if (f.same) return { changed: false, reason: `the first ${humanBytes(size)} of ${p.dest} already equal ${p.src}`, data: { bytes: size } };
  const g = ddGeometry(size, ends.bs);
  const sameHost = onTaskHost(f);
  const where = sameHost ? '' : f.direct ? ` (${f.srcHost} → ${f.destHost}, ${f.destHost} connecting to ${f.srcHost} itself (direct))` : ` (${f.srcHost} → ${f.destHost} through the controller)`;
  const steps: Step[] = [
    {
      title: `dd ${humanBytes(size)} from ${p.src} to ${p.dest}${where}, bs=${g.bs}`,
      // on one host, the dd that runs (--check -v prints it)
      ...(sameHost ? { cmd: localCopyCommand(p, g) } : {}),
      // Not marked destructive: overwriting dest is what blockcopy is asked to do (it has no force
      // parameter), so the engine's force guard must not hold it back.
      // The escape hatch: dd with progress, or the relayed stream, from the step's own context.
      async run(c) {
        const { src: s, dest: d } = await copyEnds(c, p.src_host, p.dest_host);
        if (s === d) {
          await localCopy(s, p, size, g);
          return { bytes: size };
        }
        // the direct ssh the read tried (f.direct), or the relay
        if (f.direct) return { bytes: size, compression: await directCopy(s, d, p, size, g, f.direct, c), direct: true };
        return { bytes: size, compression: await relayCopy(s, d, p, size, g, c) };
      },
    },
  ];
  if (p.verify !== 'none') {
    steps.push({
      title: `verify the copied range (${p.verify})`,
      async run(c) {
        const { src: s, dest: d } = await copyEnds(c, p.src_host, p.dest_host);
        if (p.verify === 'cmp') {
          const r = await s.run(sh`cmp -n ${size} -- ${p.src} ${p.dest}`);
          if (r.exitCode !== 0) throw new TaskFailedError(`verify: ${p.dest} differs from ${p.src}: ${r.stdout.trim() || r.stderr.trim()}`);
          return { verified: true };
        }
        const [a, b] = await Promise.all([rangeSha256(s, p.src, size), rangeSha256(d, p.dest, size)]);
        if (a !== b) throw new TaskFailedError(`verify: sha256 of ${p.dest} (${b}) differs from ${p.src} (${a})`);
        return { verified: true, sha256: a };
      },
    });
  }
  return { changed: true, steps };
}

/** The blockcopy module. */
export const blockcopyModule = defineModule({
  name: 'blockcopy',
  params,
  hostParams: ['src_host', 'dest_host'],
  doc: {
    summary: 'Copy the first size bytes of a block device or image with dd, on one host or between two hosts through the controller, then verify',
    description:
      'dd uses bs = the largest power of two dividing size (at most 4 MiB; sizes with a smaller factor use 4 MiB and ' +
      'iflag=count_bytes), iflag=fullblock, and conv=notrunc,fsync on the writer. Between hosts (src_host / dest_host) ' +
      'the source dd\'s stdout is piped through the controller into the destination dd over the two existing connections ' +
      '(backpressure by stream.pipeline; zstd or gzip when both ends have it and, for 64 MiB or more, a 16 MiB sample of the ' +
      'source shrinks by at least 10%), so the hosts need no SSH trust. With `direct`, dest_host runs the reader on src_host ' +
      'with its own ssh (BatchMode; tried in the read, so --check fails where the copy would) and the data does not pass ' +
      'through the controller. ' +
      'read compares the range first (cmp on one host, sha256 on both between hosts): identical data is no change. ' +
      'That read costs as much as the copy; it is what makes check mode exact and a second run ok (compare: false skips it ' +
      'where a guard of the playbook\'s own says the copy is needed).',
    checkMode: 'full',
    result: {
      bytes: 'Bytes copied',
      sha256: 'verify sha256: the hash of the copied range (equal on both ends)',
      verified: 'True when verify ran and matched',
      compression: 'Between hosts: zstd, gzip or none',
      direct: 'True when dest_host pulled the range from src_host with its own ssh',
    },
    example: [
      '- blockcopy:',
      '    src: /dev/vg1/xr1-root',
      '    dest: "{{ parts.partitions[0] }}"',
      '    size: "{{ newpart_bytes }}"',
      '    verify: sha256',
    ].join('\n'),
  },
  read: readBlockcopy,
  decide: decideBlockcopy,
});
