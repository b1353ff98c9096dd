// The 400s a create or update body gets when it cannot become an object of the target
// kind, worded as upstream's handlers word them (apiserver/pkg/endpoints/handlers/
// rest.go transformDecodeError), with Go's encoding/json syntax errors, because
// clients print these messages verbatim.
import { badRequest, type StatusError } from '../machinery/status.js';
import type { ResourceInfo } from '../machinery/resources.js';

/** Go's quoteChar for a scanner error: `'a'`, `'\n'`, `'\''`. */
function goQuoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const q = JSON.stringify(c);
  return `'${q.slice(1, -1)}'`;
}

class SyntaxFailure extends Error {}

/**
 * The message Go's json.Unmarshal gives for `text`, or undefined when it is valid
 * JSON. Follows encoding/json's scanner states, so the first error and its wording match.
 */
export function goJsonSyntaxError(text: string): string | undefined {
  let i = 0;
  const n = text.length;
  const fail = (context: string): never => {
    if (i >= n) throw new SyntaxFailure('unexpected end of JSON input');
    throw new SyntaxFailure(`invalid character ${goQuoteChar(String.fromCodePoint(text.codePointAt(i)!))} ${context}`);
  };
  const space = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (text[i] !== word[k]) fail(`in literal ${word} (expecting ${goQuoteChar(word[k])})`);
    }
    i++;
  };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail('');
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        if (i >= n) fail('');
        const e = text[i];
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= n || !/[0-9a-fA-F]/.test(text[i])) fail('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(e)) {
          fail('in string escape code');
        }
        i++;
        continue;
      }
      if (c < ' ') fail('in string literal');
      i++;
    }
  };
  const digits = () => {
    while (i < n && text[i] >= '0' && text[i] <= '9') i++;
  };
  const num = () => {
    if (text[i] === '-') {
      i++;
      if (i >= n || text[i] < '0' || text[i] > '9') fail('in numeric literal');
    }
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      if (i >= n || text[i] < '0' || text[i] > '9') fail('after decimal point in numeric literal');
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (i >= n || text[i] < '0' || text[i] > '9') fail('in exponent of numeric literal');
      digits();
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail('looking for beginning of object key string');
        str();
        space();
        if (text[i] !== ':') fail('after object key');
        i++;
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail('after array element');
      }
    }
    if (c === '"') return str();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    fail('looking for beginning of value');
  };
  try {
    value();
    space();
    if (i < n) fail('after top-level value');
    return undefined;
  } catch (err) {
    if (err instanceof SyntaxFailure) return err.message;
    throw err;
  }
}

/** Upstream's summarizeData: a `{`-document's first bytes as text, anything else in hex. */
export function summarizeBody(body: Buffer, maxLength = 30): string {
  if (body.length === 0) return '<empty>';
  const head = body.subarray(0, maxLength);
  const more = body.length > maxLength ? ' ...' : '';
  return body[0] === 0x7b ? head.toString('utf8') + more : head.toString('hex') + more;
}

/** A body whose kind could not be read: `the object provided is unrecognized (must be of type K): why (summary)`. */
export function unrecognizedObject(res: ResourceInfo, why: string, body: Buffer): StatusError {
  return badRequest(`the object provided is unrecognized (must be of type ${res.kind}): ${why} (${summarizeBody(body)})`);
}

/** Go package of the internal (hub) type of a group's kinds, as Go prints the type: core.ConfigMap, apps.Deployment. */
function internalPackage(group: string): string {
  if (group === '' || group === 'events.k8s.io') return 'core';
  return group.split('.')[0];
}

/** A body of another kind: `Pod in version "v1" cannot be handled as a ConfigMap: converting (v1.Pod) to (core.ConfigMap): unknown conversion`. */
export function kindMismatch(res: ResourceInfo, kind: string, apiVersion: string | undefined): StatusError {
  const version = (apiVersion || res.version).split('/').pop()!;
  const why = `converting (${version}.${kind}) to (${internalPackage(res.group)}.${res.kind}): unknown conversion`;
  return badRequest(`${kind} in version ${JSON.stringify(version)} cannot be handled as a ${res.kind}: ${why}`);
}
