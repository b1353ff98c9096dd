// Kubernetes protobuf bodies (`application/vnd.kubernetes.protobuf`).
//
// kubectl 1.32+ sends them, with no JSON fallback, for its typed-client writes:
// every `create <subcommand>` (incl. `create job --from`), `create token`,
// `auth can-i` (SelfSubjectAccessReview / SelfSubjectRulesReview), `auth whoami`,
// `auth reconcile` (and its DELETE's DeleteOptions), `certificate approve|deny`,
// `autoscale`, `debug` (node / --copy-to) and `drain --disable-eviction`
// (DeleteOptions). `run`, `expose`, `create -f`, `apply`, `delete`, `scale`,
// patches and drain's Eviction stay JSON.
// The body is the 4-byte magic `k8s\0` followed by a runtime.Unknown
// message {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
// 4 contentType} whose `raw` is the object's own message. This module turns such
// a body into exactly the JSON object the same request would carry as JSON,
// and back.

import { StatusError, badRequest } from '../../machinery/status.js';
import { CodecError, decodeMessage, encodeMessage, type JsonObject } from './codec.js';
import { KIND_MESSAGES, messageFor } from './kinds.js';
import { readFields, utf8, Writer, WireError, WIRE_BYTES } from './wire.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** The 4 bytes every Kubernetes protobuf body starts with: `k8s` and encoding 0. */
export const PROTOBUF_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Every `apiVersion/kind` (e.g. `apps/v1/Deployment`, `v1/Secret`) the codec handles. */
export const PROTOBUF_KINDS: ReadonlySet<string> = new Set(KIND_MESSAGES.keys());

export interface DecodedObject {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
}

function hasMagic(body: Uint8Array): boolean {
  return body.length >= 4 && body[0] === 0x6b && body[1] === 0x38 && body[2] === 0x73 && body[3] === 0;
}

/** True when the bytes start with the Kubernetes protobuf magic. */
export function isKubernetesProtobuf(body: Uint8Array): boolean {
  return hasMagic(body);
}

function unsupportedKind(apiVersion: string, kind: string): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - protobuf is not supported for kind "${kind}" in version "${apiVersion}"; accepted media types include: application/json, application/yaml`,
  );
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

function readEnvelope(body: Uint8Array): Envelope {
  if (body.length === 0) throw badRequest('empty body');
  if (!hasMagic(body)) throw badRequest('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  if (body.length === 4) throw badRequest('empty body');
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  for (const f of readFields(body.subarray(4))) {
    if (f.num >= 1 && f.num <= 4 && f.wire !== WIRE_BYTES) throw new WireError(`runtime.Unknown field ${f.num} has wire type ${f.wire}`);
    if (f.num === 1) {
      for (const t of readFields(f.bytes!)) {
        if (t.wire !== WIRE_BYTES) continue;
        if (t.num === 1) env.apiVersion = utf8(t.bytes!);
        else if (t.num === 2) env.kind = utf8(t.bytes!);
      }
    } else if (f.num === 2) env.raw = f.bytes!;
    else if (f.num === 3) env.contentEncoding = utf8(f.bytes!);
    else if (f.num === 4) env.contentType = utf8(f.bytes!);
  }
  return env;
}

function malformed(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof WireError || err instanceof CodecError) return badRequest(`unable to decode protobuf body: ${err.message}`);
  if (err instanceof RangeError || err instanceof TypeError) return badRequest(`unable to decode protobuf body: ${err.message}`);
  throw err;
}

function decodeEnvelope(body: Uint8Array): DecodedObject {
  const env = readEnvelope(body);
  if (!env.kind) throw badRequest(`Object 'Kind' is missing in protobuf body (apiVersion ${JSON.stringify(env.apiVersion)})`);
  if (!env.apiVersion) throw badRequest(`Object 'apiVersion' is missing in protobuf body (kind ${JSON.stringify(env.kind)})`);
  const def = messageFor(env.apiVersion, env.kind);
  if (!def) throw unsupportedKind(env.apiVersion, env.kind);
  const fields = decodeMessage(def, env.raw, '', { decodeEmbedded: (raw) => decodeEnvelope(raw).object });
  return { apiVersion: env.apiVersion, kind: env.kind, object: { kind: env.kind, apiVersion: env.apiVersion, ...fields } };
}

/**
 * Decode a `application/vnd.kubernetes.protobuf` body into the JSON object the
 * same request would have carried as JSON (with `kind` and `apiVersion`).
 * Throws a 415 StatusError for a kind it has no schema for, 400 for bad bytes.
 */
export function decodeKubernetesProtobuf(body: Buffer | Uint8Array): DecodedObject {
  try {
    return decodeEnvelope(body);
  } catch (err) {
    throw malformed(err);
  }
}

/**
 * Encode a JSON API object as a Kubernetes protobuf body (magic + runtime.Unknown),
 * byte-for-byte as the Go client would. `kind`/`apiVersion` keys in `object` are ignored.
 * Throws a 415 StatusError for an unsupported kind, 400 for values of the wrong shape.
 */
export function encodeKubernetesProtobuf(apiVersion: string, kind: string, object: Record<string, unknown>): Buffer {
  const def = messageFor(apiVersion, kind);
  if (!def) throw unsupportedKind(apiVersion, kind);
  let raw: Uint8Array;
  try {
    raw = encodeMessage(def, object as JsonObject);
  } catch (err) {
    if (err instanceof CodecError) throw badRequest(`unable to encode ${kind} as protobuf: ${err.message}`);
    throw err;
  }
  const typeMeta = new Writer();
  typeMeta.stringField(1, apiVersion);
  typeMeta.stringField(2, kind);
  const unknown = new Writer();
  unknown.raw(PROTOBUF_MAGIC as Uint8Array);
  unknown.bytesField(1, typeMeta.finish());
  unknown.bytesField(2, raw);
  unknown.stringField(3, '');
  unknown.stringField(4, '');
  const out = unknown.finish();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
