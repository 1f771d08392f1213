// Progress output arrives in arbitrary chunks; samples are separated by \r or \n.

/** Returns a function fed with output chunks that calls onRecord once per complete \r- or \n-terminated record. */
export function recordSplitter(onRecord: (record: string) => void): (chunk: Buffer | string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString();
    const parts = pending.split(/[\r\n]/);
    pending = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) onRecord(p);
  };
}
