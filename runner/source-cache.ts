// What one withModulesLoaded call (runner/module.ts) has read and parsed: it reads a playbook once
// to learn the modules it names, then again with them loaded, and the second reading takes each
// file's text and its parsed YAML from here, so each file is read and parsed once per call.
// Kept: the text and the parser's result (the `yaml` library's documents, which no reader changes),
// not the JavaScript values: each reading converts the documents anew (runner/yaml-source.ts), so
// the values, their recorded locations and their problems are a reading's own, and a loader that
// changes the values it was given cannot change what the next reading sees.
// No imports, so that runner/module.ts, which makes one, does not load the YAML stack with it.

/** Files' texts by path and parsed texts, for the readings of one withModulesLoaded call. */
export class SourceCache {
  private readonly texts = new Map<string, string>();
  private readonly parses = new Map<string, unknown>();
  /** How many files were read and texts parsed, rather than taken from here (for the tests and bench/). */
  readonly counts = { reads: 0, parses: 0 };

  /** The text of the file at `path`, read by `read` the first time; a failed read is not kept (it is cheap, and its message names the reader's purpose). */
  text(path: string, read: () => string): string {
    let t = this.texts.get(path);
    if (t === undefined) {
      t = read();
      this.counts.reads++;
      this.texts.set(path, t);
    }
    return t;
  }

  /** What `parse` makes of `text`, made the first time; one parser (one YAML dialect) per cache. */
  parsed<T>(text: string, parse: () => T): T {
    if (this.parses.has(text)) return this.parses.get(text) as T;
    const p = parse();
    this.counts.parses++;
    this.parses.set(text, p);
    return p;
  }
}
