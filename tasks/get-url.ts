// get_url: download a file over HTTP, HTTPS or FTP on the host itself (Ansible's get_url), with the
// host's curl. The request goes to curl as a config on stdin, so neither the URL (which may carry a
// user:password) nor a header nor the password is on any command line the host's `ps` shows.
import { posix } from 'node:path';
import { z } from 'zod';
import { SECRET_MASK, sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { applySteps } from '../runner/apply-steps.js';
import { defineModule, type Step, type Verdict } from '../runner/module.js';
import { planAttributes } from './lib/attributes.js';
import { readContentTarget, targetRefusal, type ContentTarget } from './lib/file-content.js';
import { runBatch } from './lib/run-command.js';
import { groupField, modeField, ownerField, pathField } from './lib/schema.js';

const ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

const params = z
  .strictObject({
    url: z.string().regex(/^(https?|ftp):\/\/\S+$/i, 'must be an http://, https:// or ftp:// URL').describe('What to download (http, https or ftp); it may carry user:password@'),
    dest: pathField('Where on the host: a file, or an existing directory (the file is then named after the last part of the URL)'),
    force: z.boolean().default(false).describe('true: download every time and replace dest when the content differs; false: when dest exists, download only if the server has a newer copy (If-Modified-Since)'),
    checksum: z
      .string()
      .regex(new RegExp(`^(${ALGORITHMS.join('|')}):[0-9a-fA-F]+$`), `must be ALGORITHM:HEX with ALGORITHM one of ${ALGORITHMS.join(', ')} (a checksum URL is not supported: give the hash)`)
      // parsed once: the algorithm and the digest, lowercased as Ansible compares it
      .transform((v) => ({ algorithm: v.slice(0, v.indexOf(':')) as Algorithm, hex: v.slice(v.indexOf(':') + 1).toLowerCase() }))
      .optional()
      .describe('ALGORITHM:HEX (md5, sha1, sha224, sha256, sha384, sha512): the download must match it, and a dest that matches it already is not downloaded again'),
    mode: modeField,
    owner: ownerField,
    group: groupField,
    timeout: z.number().int().positive().default(10).describe('Seconds for the whole request'),
    headers: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).default({}).describe('HTTP headers to send, as a mapping'),
    url_username: z.string().optional().describe('User for HTTP basic authentication (alias username)'),
    username: z.string().optional().describe('Alias of url_username'),
    url_password: z.string().optional().describe('Its password (alias password); never on a command line, masked in every output'),
    password: z.string().optional().describe('Alias of url_password'),
    force_basic_auth: z.boolean().default(false).describe('Accepted for Ansible: curl sends basic authentication with the first request either way'),
    validate_certs: z.boolean().default(true).describe('false: accept any HTTPS certificate'),
    use_proxy: z.boolean().default(true).describe('false: ignore the host\'s proxy variables'),
    http_agent: z.string().default('ferry-get_url').describe('The User-Agent header'),
  })
  .superRefine((p, ctx) => {
    if (p.username !== undefined && p.url_username !== undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'give url_username or username (its alias), not both' });
    if (p.password !== undefined && p.url_password !== undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'give url_password or password (its alias), not both' });
  })
  .transform(({ username, password, ...p }) => ({ ...p, url_username: p.url_username ?? username, url_password: p.url_password ?? password }));

type Params = z.output<typeof params>;

/** What read found: curl on the host, the destination, and dest's checksum when one was asked for. */
export interface GetUrlFacts {
  curl: boolean;
  target: ContentTarget;
  /** Hex digest of dest with the checksum's algorithm (dest is a regular file and checksum given). */
  destChecksum?: string;
}

/** The file name a download into a directory gets: the URL path's last part. */
export function urlFileName(url: string): string | undefined {
  const path = new URL(url).pathname;
  const name = decodeURIComponent(posix.basename(path));
  return name && name !== '/' && !name.includes('\0') ? name : undefined;
}

/** The URL as shown in titles and results: a password in it is masked. */
export function shownUrl(url: string): string {
  const u = new URL(url);
  if (!u.password) return url;
  u.password = SECRET_MASK;
  return u.toString();
}

/** A value in curl's config syntax: double-quoted, with backslash escapes. */
function curlQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

/** curl's config for the request (fed on stdin): nothing of it reaches a command line. */
export function curlConfig(p: Params): string {
  const lines = [
    `url = ${curlQuote(p.url)}`,
    'silent',
    'show-error',
    'location',
    `max-time = ${p.timeout}`,
    `user-agent = ${curlQuote(p.http_agent)}`,
    ...Object.entries(p.headers).map(([k, v]) => `header = ${curlQuote(`${k}: ${v}`)}`),
    ...(p.url_username !== undefined ? [`user = ${curlQuote(`${p.url_username}:${p.url_password ?? ''}`)}`] : []),
    ...(p.validate_certs ? [] : ['insecure']),
    ...(p.use_proxy ? [] : ['noproxy = "*"']),
  ];
  return lines.join('\n') + '\n';
}

/**
 * The download as one command on the host: curl into a temporary file beside dest (so the final
 * rename is atomic), the checksum checked, then dest replaced only if the content differs (a replaced
 * file keeps its mode and owner; a new one gets the umask's). It prints key=value lines for the result.
 */
export function downloadCommand(p: Params, t: ContentTarget, conditional: boolean) {
  return sh`dest=${t.target}; cond=${conditional ? 'yes' : ''}; algo=${p.checksum?.algorithm ?? ''}; want=${p.checksum?.hex ?? ''}
tmp=$(mktemp "$(dirname -- "$dest")/.ferry-get_url.XXXXXX") || exit 1
trap 'rm -f -- "$tmp" "$tmp.h"' EXIT
start=$(date +%s)
if [ -n "$cond" ] && [ -e "$dest" ]; then code=$(curl -K - -z "$dest" -D "$tmp.h" -o "$tmp" -w '%{http_code}'); else code=$(curl -K - -D "$tmp.h" -o "$tmp" -w '%{http_code}'); fi
rc=$?
echo "elapsed=$(( $(date +%s) - start ))"
echo "status_code=$code"
echo "status_line=$(grep -a '^HTTP/' "$tmp.h" 2>/dev/null | tail -n 1 | tr -d '\\r')"
[ "$rc" -eq 0 ] || { echo "curl_rc=$rc"; exit 0; }
case "$code" in 2??) ;; 304) echo result=not-modified; exit 0 ;; *) echo http_error=yes; exit 0 ;; esac
if [ -n "$algo" ]; then got=$("$algo"sum < "$tmp" | cut -d' ' -f1); [ "$got" = "$want" ] || { echo "checksum_mismatch=$got"; exit 0; }; fi
echo "checksum_src=$(sha1sum < "$tmp" | cut -d' ' -f1)"
echo "md5sum=$(md5sum < "$tmp" | cut -d' ' -f1)"
echo "size=$(stat -c %s -- "$tmp")"
if [ -f "$dest" ] && [ ! -L "$dest" ]; then
  echo "checksum_dest=$(sha1sum < "$dest" | cut -d' ' -f1)"
  if cmp -s -- "$tmp" "$dest"; then echo result=same; exit 0; fi
  chmod --reference="$dest" -- "$tmp" && { chown --reference="$dest" -- "$tmp" 2>/dev/null || true; } || exit 1
else
  chmod "$(printf '%o' $(( 0666 & ~0$(umask) )))" -- "$tmp" || exit 1
fi
mv -f -- "$tmp" "$dest" || exit 1
echo result=replaced`;
}

/** Decides get_url (pure): no download when dest already has what is asked, else the download step. */
export function decideGetUrl(p: Params, f: GetUrlFacts): Verdict {
  if (!f.curl) return { refused: 'get_url downloads with curl on the host, and the host has none: install curl first (apt: { name: curl })' };
  const misplaced = targetRefusal(f.target, urlFileName(p.url));
  if (misplaced) return misplaced;
  const { dest, state } = f.target;
  const current = state.exists && state.type === 'file' ? state : undefined;
  if (state.exists && state.type !== 'file' && state.type !== 'link') return { refused: `dest ${dest} exists and is a ${state.type}, not a regular file` };
  const want = { mode: p.mode, owner: p.owner, group: p.group };
  const data = { url: shownUrl(p.url), dest };
  const keep = (reason: string): Verdict => {
    const attrs = planAttributes(dest, current, want, { isDirectory: false });
    return attrs.steps.length ? { changed: true, steps: attrs.steps, data } : { changed: false, reason, data };
  };
  if (current && p.checksum && f.destChecksum === p.checksum.hex) {
    return keep(`${dest} already has ${p.checksum.algorithm} ${f.destChecksum.slice(0, 12)}…: not downloaded again`);
  }
  const conditional = !p.force && !p.checksum && current !== undefined;
  const download: Step = {
    title: `${DOWNLOAD}${shownUrl(p.url)} to ${dest}${conditional ? ' if the server has a newer copy' : ''}`,
    cmd: downloadCommand(p, f.target, conditional),
    stdin: curlConfig(p),
  };
  // A replaced file keeps its attributes (the script copies them), so both cases compare against the current ones.
  const attrs = planAttributes(dest, current, want, { isDirectory: false });
  return {
    changed: true,
    steps: [download, ...attrs.steps],
    data,
    ...(current ? { partial: 'nothing is downloaded in check mode: whether the content differs from dest is known only in a real run' } : {}),
  };
}

/** The download step's title starts so; mode/owner steps (planAttributes) never do. */
const DOWNLOAD = 'download ';
const isDownload = (s: Step): boolean => s.title.startsWith(DOWNLOAD);

/** Parses the download command's key=value lines. */
export function parseDownload(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The HTTP status line's reason ("Not Found"), or curl's exit status when there was no response. */
function responseText(out: Record<string, string>): string {
  const line = out.status_line ?? '';
  const m = /^HTTP\/\S+\s+(\d{3})\s*(.*)$/.exec(line);
  return m ? `HTTP Error ${m[1]}: ${m[2]}` : `curl exited ${out.curl_rc ?? '?'} (no HTTP response)`;
}

export const getUrlModule = defineModule({
  name: 'get_url',
  params,
  doc: {
    summary: 'Download a file from HTTP, HTTPS or FTP on the host (with its curl), replacing dest only when the content differs',
    description:
      'The host downloads with curl into a temporary file beside dest, checks `checksum`, and renames it over dest only when the ' +
      'content differs (atomic; a replaced file keeps its mode and owner unless mode/owner/group are given). With force: false ' +
      '(the default) an existing dest is downloaded again only when the server says it has a newer copy (If-Modified-Since), as ' +
      "Ansible does. The URL, headers and password reach curl on stdin, never on a command line; the password is masked in every output.",
    checkMode: 'partial',
    checkModeNote: 'nothing is downloaded in check mode: a missing dest shows as a change; for an existing one whether the content differs is known only in a real run',
    result: {
      url: 'the URL',
      dest: 'the file written (dest/NAME for a directory)',
      status_code: 'the HTTP status (304 when the server had nothing newer)',
      msg: "'OK (N bytes)', or the HTTP error",
      checksum_src: 'sha1 of the download',
      checksum_dest: 'sha1 of dest before (when it existed)',
      md5sum: 'md5 of the download',
      size: 'bytes downloaded',
      elapsed: 'seconds the request took',
    },
    example: [
      '- get_url:',
      '    url: https://example.org/images/debian-12.qcow2',
      '    dest: /var/lib/libvirt/images/',
      '    checksum: sha256:9a1b3c04e1f5d2c6b8a7e0f3d4c5b6a79e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
      "    mode: '0644'",
    ].join('\n'),
  },
  async read(ctx, p): Promise<GetUrlFacts> {
    const target = await readContentTarget(ctx, { dest: p.dest, fileName: urlFileName(p.url) });
    const algo = p.checksum?.algorithm;
    const st = target.state;
    // the probe already hashed a regular file with sha256: only another algorithm needs a read
    const known = algo === 'sha256' && st.exists ? st.sha256 : undefined;
    const out = await runBatch(ctx, {
      curl: sh`command -v curl`,
      ...(algo && !known && st.exists && st.type === 'file' ? { sum: sh`${`${algo}sum`} < ${target.dest}` } : {}),
    });
    const destChecksum = known ?? (out.sum?.exitCode === 0 ? out.sum.stdout.split(' ')[0] : undefined);
    return { curl: out.curl?.exitCode === 0, target, ...(destChecksum ? { destChecksum } : {}) };
  },
  decide: decideGetUrl,
  async apply(ctx, p, plan) {
    const [download, ...attrs] = plan.steps;
    const base = plan.data ?? {};
    let changed = false;
    let result: Record<string, unknown> = { ...base };
    const downloads = download !== undefined && isDownload(download);
    if (downloads) {
      const r = await ctx.run(download.cmd!, { stdin: download.stdin! });
      const out = parseDownload(r.stdout);
      const code = Number(out.status_code ?? 0);
      result = { ...result, status_code: code, elapsed: Number(out.elapsed ?? 0) };
      if (r.exitCode !== 0) throw new TaskFailedError(`get_url could not write ${String(base.dest)}: ${r.stderr.trim() || `exit status ${r.exitCode}`}`, result);
      if (out.curl_rc !== undefined || out.http_error !== undefined) throw new TaskFailedError('Request failed', { ...result, response: responseText(out), ...(r.stderr.trim() ? { stderr: r.stderr.trim() } : {}) });
      if (out.checksum_mismatch !== undefined) {
        throw new TaskFailedError(`The checksum for ${String(base.dest)} did not match ${p.checksum!.hex}; it was ${out.checksum_mismatch}.`, result);
      }
      if (out.result === 'not-modified') result = { ...result, msg: responseText(out) };
      else {
        changed = out.result === 'replaced';
        result = {
          ...result,
          msg: `OK (${out.size} bytes)`,
          checksum_src: out.checksum_src,
          checksum_dest: out.checksum_dest ?? null,
          md5sum: out.md5sum,
          size: Number(out.size),
        };
      }
    }
    const rest = downloads ? attrs : plan.steps;
    await applySteps(ctx, rest);
    return { ...result, changed: changed || rest.length > 0 };
  },
});
