// String-format checks (k8s.io/apimachinery/pkg/util/validation): each returns the list
// of problems worded as upstream, empty when the value is fine. Regexes are compiled once.
import { isIP } from 'node:net';
import { invalid, type Cause } from './field.js';

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

// RegexError joins examples as "'a' or 'b', " — build it exactly.
function regexErr(msg: string, fmt: string, examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let m = msg + ' (e.g. ';
  examples.forEach((e, i) => {
    if (i > 0) m += ' or ';
    m += `'${e}', `;
  });
  return m + `regex used for validation is '${fmt}')`;
}

export const EMPTY_ERROR = 'must be non-empty';

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

// ---- DNS names ---------------------------------------------------------------------

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelErrMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
export const DNS1123_LABEL_MAX = 63;

const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
export const DNS1123_SUBDOMAIN_MAX = 253;

const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035LabelErrMsg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);

const wildcardFmt = `\\*\\.${dns1123SubdomainFmt}`;
const wildcardErrMsg =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";
const wildcardRe = new RegExp(`^${wildcardFmt}$`);

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!dns1123LabelRe.test(v)) {
    if (dns1123SubdomainRe.test(v)) errs.push('must not contain dots');
    else errs.push(regexErr(dns1123LabelErrMsg, dns1123LabelFmt, ['my-name', '123-abc']));
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!dns1123SubdomainRe.test(v)) errs.push(regexErr(dns1123SubdomainErrMsg, dns1123SubdomainFmt, ['example.com']));
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!dns1035LabelRe.test(v)) errs.push(regexErr(dns1035LabelErrMsg, dns1035LabelFmt, ['my-name', 'abc-123']));
  return errs;
}

export function isWildcardDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!wildcardRe.test(v)) errs.push(regexErr(wildcardErrMsg, wildcardFmt, ['*.example.com']));
  return errs;
}

// ---- qualified names (label keys) and label values ---------------------------------

const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const qualifiedNameRe = new RegExp(`^${qualifiedNameFmt}$`);

export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  // Most names have no prefix: no split for them.
  const parts = v.includes('/') ? v.split('/') : undefined;
  let name: string;
  if (!parts) name = v;
  else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part ' + EMPTY_ERROR);
    else for (const m of isDNS1123Subdomain(prefix)) errs.push('prefix part ' + m);
  } else {
    errs.push(
      'a qualified name ' +
        regexErr(qualifiedNameErrMsg, qualifiedNameFmt, ['MyName', 'my.name', '123-abc']) +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    );
    return errs;
  }
  if (name.length === 0) errs.push('name part ' + EMPTY_ERROR);
  else if (name.length > 63) errs.push('name part ' + maxLenError(63));
  if (!qualifiedNameRe.test(name)) errs.push('name part ' + regexErr(qualifiedNameErrMsg, qualifiedNameFmt, ['MyName', 'my.name', '123-abc']));
  return errs;
}

const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelValueRe = new RegExp(`^${labelValueFmt}$`);

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(v)) errs.push(regexErr(labelValueErrMsg, labelValueFmt, ['MyValue', 'my_value', '12345']));
  return errs;
}

// ---- name validators by kind (ValidateNameFunc: name, prefix) ------------------------

export type NameFn = (name: string, prefix: boolean) => string[];

function maskTrailingDash(name: string): string {
  // upstream replaces the final two characters (sic) with "a" when the name ends in '-'
  return name.endsWith('-') ? name.slice(0, Math.max(0, name.length - 2)) + 'a' : name;
}

export const nameIsDNSSubdomain: NameFn = (n, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(n) : n);
export const nameIsDNSLabel: NameFn = (n, prefix) => isDNS1123Label(prefix ? maskTrailingDash(n) : n);
export const nameIsDNS1035Label: NameFn = (n, prefix) => isDNS1035Label(prefix ? maskTrailingDash(n) : n);

/** k8s.io/apimachinery/pkg/api/validation/path: names that are safe as URL path segments. */
export const pathSegmentName: NameFn = (n, prefix) => {
  if (!prefix) {
    for (const bad of ['.', '..']) if (n === bad) return [`may not be '${bad}'`];
  }
  const errs: string[] = [];
  for (const bad of ['/', '%']) if (n.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
};

// ---- ports, percentages, headers, env, config keys ---------------------------------

const portNameCharsetRe = /^[-a-z0-9]+$/;
const portNameOneLetterRe = /[a-z]/;

export function isValidPortName(p: string): string[] {
  const errs: string[] = [];
  if (p.length > 15) errs.push(maxLenError(15));
  if (!portNameCharsetRe.test(p)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!portNameOneLetterRe.test(p)) errs.push('must contain at least one letter (a-z)');
  if (p.includes('--')) errs.push('must not contain consecutive hyphens');
  if (p.length > 0 && (p[0] === '-' || p[p.length - 1] === '-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function isValidPortNum(n: number): string[] {
  return n >= 1 && n <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

export function isInRange(v: number, lo: number, hi: number): string[] {
  return v >= lo && v <= hi ? [] : [inclusiveRangeError(lo, hi)];
}

export function isValidUserID(n: number): string[] {
  return n >= 0 && n <= 0xffffffff ? [] : [inclusiveRangeError(0, 0xffffffff)];
}
export const isValidGroupID = isValidUserID;

const percentFmt = '[0-9]+%';
const percentRe = /^[0-9]+%$/;
export function isValidPercent(s: string): string[] {
  return percentRe.test(s) ? [] : [regexErr("a valid percent string must be a numeric string followed by an ending '%'", percentFmt, ['1%', '93%'])];
}

const httpHeaderNameRe = /^[-A-Za-z0-9]+$/;
export function isHTTPHeaderName(s: string): string[] {
  return httpHeaderNameRe.test(s)
    ? []
    : [regexErr("a valid HTTP header must consist of alphanumeric characters or '-'", '[-A-Za-z0-9]+', ['X-Header-Name'])];
}

function hasChDirPrefix(v: string): string[] {
  if (v === '.') return ["must not be '.'"];
  if (v === '..') return ["must not be '..'"];
  if (v.startsWith('..')) return ["must not start with '..'"];
  return [];
}

const envVarNameFmt = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const envVarNameRe = new RegExp(`^${envVarNameFmt}$`);

/** The strict (pre-RelaxedEnvironmentVariableValidation) rule. */
export function isEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (!envVarNameRe.test(v))
    errs.push(
      regexErr(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        envVarNameFmt,
        ['my.env-name', 'MY_ENV.NAME', 'MyEnvName1'],
      ),
    );
  return errs.concat(hasChDirPrefix(v));
}

/** The relaxed rule (RelaxedEnvironmentVariableValidation, on by default since 1.32). */
export function isRelaxedEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (v.length === 0) errs.push('environment variable name ' + EMPTY_ERROR);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 0x7e || c < 0x20 || c === 0x3d) {
      errs.push("a valid environment variable name must consist only of printable ASCII characters other than '='");
      break;
    }
  }
  return errs;
}

const configMapKeyFmt = '[-._a-zA-Z0-9]+';
const configMapKeyRe = /^[-._a-zA-Z0-9]+$/;
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!configMapKeyRe.test(v))
    errs.push(regexErr("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", configMapKeyFmt, ['key.name', 'KEY_NAME', 'key-name']));
  return errs.concat(hasChDirPrefix(v));
}

const cIdentifierFmt = '[A-Za-z_][A-Za-z0-9_]*';
const cIdentifierRe = new RegExp(`^${cIdentifierFmt}$`);
export function isCIdentifier(v: string): string[] {
  return cIdentifierRe.test(v)
    ? []
    : [regexErr("a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'", cIdentifierFmt, ['my_name', 'MY_NAME', 'MyName'])];
}

const httpPathFmt = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const httpPathRe = new RegExp(`^${httpPathFmt}$`);

/** IsDomainPrefixedPath: `acme.io/foo`. Returns causes directly, as upstream does. */
export function isDomainPrefixedPath(path: string, v: string): Cause[] {
  if (v.length === 0) return [{ reason: 'FieldValueRequired', message: 'Required value', field: path }];
  const i = v.indexOf('/');
  if (i <= 0 || i === v.length - 1) return [invalid(path, v, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const host = v.slice(0, i);
  const rest = v.slice(i + 1);
  const errs: Cause[] = isDNS1123Subdomain(host).map((m) => invalid(path, host, m));
  if (!httpPathRe.test(rest)) errs.push(invalid(path, rest, regexErr('Invalid path', httpPathFmt, [])));
  return errs;
}

// ---- IP addresses ------------------------------------------------------------------

const sloppyV4Re = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** netutils.ParseIPSloppy: like net.ParseIP but IPv4 octets may carry leading zeros. */
export function parseIPSloppy(s: string): { family: 4 | 6; bytes: number[] } | undefined {
  const m = sloppyV4Re.exec(s);
  if (m) {
    const bytes = m.slice(1, 5).map(Number);
    if (bytes.some((b) => b > 255)) return undefined;
    return { family: 4, bytes };
  }
  if (isIP(s) === 6) return { family: 6, bytes: ipv6Bytes(s) };
  return undefined;
}

function ipv6Bytes(s: string): number[] {
  let str = s;
  const zone = str.indexOf('%');
  if (zone >= 0) str = str.slice(0, zone);
  let tail: number[] = [];
  const lastColon = str.lastIndexOf(':');
  if (str.slice(lastColon + 1).includes('.')) {
    tail = str.slice(lastColon + 1).split('.').map(Number);
    str = str.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = str.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined ? (rest ? rest.split(':') : []) : [];
  const groups = rest !== undefined ? [...h, ...Array(8 - h.length - r.length).fill('0'), ...r] : h;
  const bytes: number[] = [];
  for (const g of groups) {
    const n = parseInt(g || '0', 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

export function isValidIP(path: string, v: string): Cause[] {
  return parseIPSloppy(v) ? [] : [invalid(path, v, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
}

export interface ParsedCIDR {
  family: 4 | 6;
  bytes: number[];
  prefix: number;
}

export function parseCIDRSloppy(s: string): ParsedCIDR | undefined {
  const i = s.indexOf('/');
  if (i < 0) return undefined;
  const ip = parseIPSloppy(s.slice(0, i));
  const pfx = s.slice(i + 1);
  if (!ip || !/^\d{1,3}$/.test(pfx)) return undefined;
  const prefix = Number(pfx);
  if (prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  return { family: ip.family, bytes: ip.bytes, prefix };
}

export function isValidCIDR(path: string, v: string): Cause[] {
  return parseCIDRSloppy(v) ? [] : [invalid(path, v, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')];
}

/** Whether `inner`'s network address lies in `outer`'s network. */
export function cidrContainsIP(outer: ParsedCIDR, ip: number[]): boolean {
  if (ip.length !== outer.bytes.length) return false;
  let bits = outer.prefix;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (outer.bytes[i] & mask)) return false;
  }
  return true;
}

export function cidrNetwork(c: ParsedCIDR): number[] {
  const out = c.bytes.slice();
  let bits = c.prefix;
  for (let i = 0; i < out.length; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    out[i] &= mask;
  }
  return out;
}

export { regexErr as regexError };
