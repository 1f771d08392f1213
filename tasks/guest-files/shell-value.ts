// Values of shell assignments (`NAME=value`) in the conf files grub-mkconfig, mkinitcpio, dracut and
// initramfs-tools source: only the simple forms are understood, anything else is left to a person.

/** A shell value that is one quoted string or bare word, followed only by blanks or a comment. */
export interface ShellValue {
  quote: '"' | "'" | '';
  inner: string;
  rest: string;
}

/** Parses the value of an assignment; undefined when it is more than one word or string. */
export function parseShellValue(raw: string): ShellValue | undefined {
  const restOk = (rest: string) => /^(\s+#.*|\s*)$/.test(rest);
  if (raw.startsWith('"')) {
    for (let i = 1; i < raw.length; i++) {
      if (raw[i] === '\\') i++;
      else if (raw[i] === '"') {
        const rest = raw.slice(i + 1);
        return restOk(rest) ? { quote: '"', inner: raw.slice(1, i), rest } : undefined;
      }
    }
    return undefined;
  }
  if (raw.startsWith("'")) {
    const end = raw.indexOf("'", 1);
    if (end < 0) return undefined;
    const rest = raw.slice(end + 1);
    return restOk(rest) ? { quote: "'", inner: raw.slice(1, end), rest } : undefined;
  }
  const m = /^([^\s"'`;&|<>()\\]*)(.*)$/.exec(raw)!;
  return restOk(m[2]) ? { quote: '', inner: m[1], rest: m[2] } : undefined;
}

/** Renders a value in the quoting it had; a bare value that needs quoting becomes double-quoted. */
export function renderShellValue(v: ShellValue, inner: string): string {
  const quote = v.quote === '' && !/^[A-Za-z0-9_,.:=/+%@-]*$/.test(inner) ? '"' : v.quote;
  return `${quote}${inner}${quote}${v.rest}`;
}

