// Splits a `command:` string into words the way Ansible does (Python's shlex.split, POSIX mode),
// so the same playbook line runs the same argv here. No operators, no globbing, no expansion:
// `a; b` is three words, as it is in Ansible's command module.

/** Splits a command line into argv words with POSIX quoting rules (shlex.split); throws on an unclosed quote. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once any character (even an empty pair of quotes) belongs to it.
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxError(`no closing quotation (single quote at character ${i + 1})`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= line.length) throw new SyntaxError(`no closing quotation (double quote at character ${i + 1})`);
        const d = line[j]!;
        if (d === '"') break;
        // Inside double quotes shlex only unescapes \" and \\; any other backslash stays.
        if (d === '\\' && j + 1 < line.length && (line[j + 1] === '"' || line[j + 1] === '\\')) {
          word += line[j + 1];
          j += 2;
        } else {
          word += d;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new SyntaxError('no escaped character after the final backslash');
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
