// A small in-memory tar (POSIX ustar) writer and reader: enough for image layers
// and docker-archive files. Names longer than ustar allows get a PAX header.

const BLOCK = 512;

export type TarEntry =
  | { type: 'file'; name: string; data: Buffer; mode?: number; uid?: number; gid?: number; mtime?: number }
  | { type: 'dir'; name: string; mode?: number; uid?: number; gid?: number; mtime?: number }
  | { type: 'symlink'; name: string; target: string; uid?: number; gid?: number; mtime?: number };

const TYPEFLAG = { file: '0', symlink: '2', dir: '5', pax: 'x' } as const;

function writeString(buf: Buffer, off: number, len: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new Error(`tar: field too long (${b.length} > ${len}): ${s}`);
  b.copy(buf, off);
}

function writeOctal(buf: Buffer, off: number, len: number, n: number): void {
  // len-1 octal digits then NUL
  const s = Math.floor(n).toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new Error(`tar: number ${n} does not fit in ${len} bytes`);
  writeString(buf, off, len, s + '\0');
}

/** Splits a path into ustar prefix (<=155) and name (<=100), or returns null. */
function splitUstarName(name: string): { prefix: string; name: string } | null {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return { prefix, name: rest };
  }
  return null;
}

function header(opts: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, opts.name);
  writeOctal(h, 100, 8, opts.mode);
  writeOctal(h, 108, 8, opts.uid);
  writeOctal(h, 116, 8, opts.gid);
  writeOctal(h, 124, 12, opts.size);
  writeOctal(h, 136, 12, opts.mtime);
  h.fill(0x20, 148, 156); // checksum is computed with this field as spaces
  writeString(h, 156, 1, opts.typeflag);
  writeString(h, 157, 100, opts.linkname);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 265, 32, opts.uid === 0 ? 'root' : '');
  writeString(h, 297, 32, opts.gid === 0 ? 'root' : '');
  writeString(h, 345, 155, opts.prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

function pad(size: number): Buffer {
  const rem = size % BLOCK;
  return Buffer.alloc(rem === 0 ? 0 : BLOCK - rem);
}

function paxRecord(key: string, value: string): string {
  // "<len> <key>=<value>\n" where len counts the whole record including itself
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Serialises entries, in order, into a complete tar archive. */
export function writeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    let name = e.name.replace(/^\/+/, '');
    if (e.type === 'dir' && !name.endsWith('/')) name += '/';
    const linkname = e.type === 'symlink' ? e.target : '';
    const size = e.type === 'file' ? e.data.length : 0;
    const mode = e.type === 'symlink' ? 0o777 : (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const mtime = e.mtime ?? 0;

    let split = splitUstarName(name);
    const pax: string[] = [];
    if (!split) {
      pax.push(paxRecord('path', name));
      split = { prefix: '', name: name.slice(0, 99) };
    }
    let link = linkname;
    if (Buffer.byteLength(linkname) > 100) {
      pax.push(paxRecord('linkpath', linkname));
      link = linkname.slice(0, 99);
    }
    if (pax.length > 0) {
      const data = Buffer.from(pax.join(''), 'utf8');
      parts.push(
        header({ name: 'PaxHeader', prefix: '', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime, typeflag: TYPEFLAG.pax, linkname: '' }),
        data,
        pad(data.length),
      );
    }
    parts.push(header({ name: split.name, prefix: split.prefix, mode, uid, gid, size, mtime, typeflag: TYPEFLAG[e.type], linkname: link }));
    if (e.type === 'file') parts.push(e.data, pad(e.data.length));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

export interface ReadTarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname: string;
  data: Buffer;
}

function readString(buf: Buffer, off: number, len: number): string {
  const slice = buf.subarray(off, off + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function readOctal(buf: Buffer, off: number, len: number): number {
  const s = readString(buf, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Parses a tar archive (ustar + PAX path/linkpath) into entries; verifies header checksums. */
export function readTar(buf: Buffer): ReadTarEntry[] {
  const out: ReadTarEntry[] = [];
  let off = 0;
  let paxNext: Record<string, string> = {};
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const stored = readOctal(h, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== stored) throw new Error(`tar: bad header checksum at offset ${off}`);
    const size = readOctal(h, 124, 12);
    const typeflag = readString(h, 156, 1) || '0';
    const data = buf.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x') {
      for (const rec of data.toString('utf8').split('\n')) {
        const m = /^\d+ ([^=]+)=(.*)$/s.exec(rec);
        if (m) paxNext[m[1]!] = m[2]!;
      }
      continue;
    }
    const prefix = readString(h, 345, 155);
    let name = readString(h, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    let linkname = readString(h, 157, 100);
    if (paxNext.path) name = paxNext.path;
    if (paxNext.linkpath) linkname = paxNext.linkpath;
    paxNext = {};
    const type = typeflag === '0' ? 'file' : typeflag === '5' ? 'dir' : typeflag === '2' ? 'symlink' : 'other';
    out.push({
      name,
      type,
      mode: readOctal(h, 100, 8),
      uid: readOctal(h, 108, 8),
      gid: readOctal(h, 116, 8),
      mtime: readOctal(h, 136, 12),
      size,
      linkname,
      data: Buffer.from(data),
    });
  }
  return out;
}
