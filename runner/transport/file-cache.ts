// Files every SSH connection reads (known_hosts, private keys): read and parsed once for all the
// hosts of a run instead of once per connection. An encrypted key costs ~0.4 s of bcrypt on the
// event loop per parse (it was parsed twice per connection), and a known_hosts file is parsed in
// full per connection: both stalled every other host's work, and grew with the host count.
import { readFileSync, statSync } from 'node:fs';

/** A file's parsed form, read again only when its size or modification time has changed. */
export class ParsedFileCache<T> {
  private readonly entries = new Map<string, { mtimeMs: number; size: number; value: T }>();

  constructor(private readonly parse: (data: Buffer, path: string) => T) {}

  /** The parsed file; throws as readFileSync does (ENOENT when it is missing). */
  get(path: string): T {
    const st = statSync(path);
    const hit = this.entries.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.value;
    // a change between the stat and the read is caught by the next call's stat
    const value = this.parse(readFileSync(path), path);
    this.entries.set(path, { mtimeMs: st.mtimeMs, size: st.size, value });
    return value;
  }
}
