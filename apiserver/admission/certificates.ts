// certificates.k8s.io/v1 CertificateSigningRequests (upstream: pkg/registry/certificates
// and pkg/apis/certificates/validation) and node.k8s.io/v1 RuntimeClass checks: what
// each write may change (spec on create only; conditions through `approval`; the
// certificate through `status`), the requester's identity stamped on create, and the
// CertificateApproval/CertificateSigning admission checks (`approve` and `sign` on the
// `signers` resource named by the CSR's signerName).
import type { KubeObject } from '../../machinery/object.js';
import { StatusError, qualifiedResource } from '../../machinery/status.js';
import type { RequestAttributes, Decision } from '../authorization/types.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';
import { child, duplicate, forbidden, index, invalid, notSupported, required, type Cause } from './field.js';
import { validateObjectMetaGeneric } from './meta.js';
import { isDNS1123Label, nameIsDNSSubdomain } from './names.js';
import { arr, ensureObj, isSet, obj, semanticEqual, str, type Obj } from './util.js';

export const KEY_USAGES = [
  'any',
  'cert sign',
  'client auth',
  'code signing',
  'content commitment',
  'crl sign',
  'data encipherment',
  'decipher only',
  'digital signature',
  'email protection',
  'encipher only',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'key agreement',
  'key encipherment',
  'microsoft sgc',
  'netscape sgc',
  'ocsp signing',
  's/mime',
  'server auth',
  'signing',
  'timestamping',
];

function pemBlockType(b64: string): string | undefined {
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return /-----BEGIN ([A-Z ]+)-----/.exec(text)?.[1];
}

export function validateCertificateSigningRequest(o: Obj): Cause[] {
  const out = validateObjectMetaGeneric(o.metadata, false, nameIsDNSSubdomain);
  const spec = obj(o.spec);
  if (!str(spec.request)) out.push(required('spec.request'));
  else if (pemBlockType(str(spec.request)) !== 'CERTIFICATE REQUEST') out.push(invalid('spec.request', '<PEM data>', 'PEM block type must be CERTIFICATE REQUEST'));
  const signer = str(spec.signerName);
  if (!signer) out.push(required('spec.signerName'));
  else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[^/]+$/.test(signer) || signer.split('/')[0].split('.').length < 2) {
    out.push(invalid('spec.signerName', signer, 'must be a fully qualified domain and path of the form \'example.com/signer-name\''));
  }
  const usages = arr<string>(spec.usages);
  if (!usages.length) out.push(required('spec.usages'));
  usages.forEach((u, i) => {
    if (!KEY_USAGES.includes(u)) out.push(notSupported(index('spec.usages', i), u, KEY_USAGES));
  });
  if (isSet(spec.expirationSeconds) && Number(spec.expirationSeconds) < 600) {
    out.push(invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  }
  return out;
}

function validateConditions(o: Obj, old: Obj): Cause[] {
  const out: Cause[] = [];
  const conds = arr(obj(o.status).conditions).map(obj);
  const seen = new Set<string>();
  conds.forEach((c, i) => {
    const p = index('status.conditions', i);
    const type = str(c.type);
    if (!type) out.push(required(child(p, 'type')));
    if (type === 'Approved' || type === 'Denied' || type === 'Failed') {
      if (seen.has(type)) out.push(duplicate(child(p, 'type'), type));
      if (str(c.status) !== 'True') out.push(notSupported(child(p, 'status'), c.status ?? '', ['True']));
    }
    if ((type === 'Approved' && seen.has('Denied')) || (type === 'Denied' && seen.has('Approved'))) {
      out.push(invalid(child(p, 'type'), type, 'Approved and Denied conditions are mutually exclusive'));
    }
    seen.add(type);
  });
  for (const t of ['Approved', 'Denied', 'Failed']) {
    const had = arr(obj(old.status).conditions).some((c) => str(obj(c).type) === t);
    if (had && !seen.has(t)) out.push(forbidden('status.conditions', `updates may not remove a condition of type "${t}"`));
  }
  return out;
}

export function validateCertificateSigningRequestUpdate(o: Obj, old: Obj): Cause[] {
  return validateConditions(o, old);
}

export function validateCertificateSigningRequestStatus(o: Obj, old: Obj): Cause[] {
  const out = validateConditions(o, old);
  const was = str(obj(old.status).certificate);
  const now = str(obj(o.status).certificate);
  if (was && now !== was) out.push(forbidden('status.certificate', 'updates may not modify existing certificate content'));
  if (now && !was && pemBlockType(now) !== 'CERTIFICATE') out.push(invalid('status.certificate', '<certificate data>', 'must contain PEM-encoded certificates'));
  return out;
}

/** Stamp condition times as upstream's strategies do. */
function stampConditions(o: Obj): void {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const c of arr(obj(o.status).conditions).map(obj)) {
    if (!isSet(c.lastUpdateTime)) c.lastUpdateTime = now;
    if (!isSet(c.lastTransitionTime)) c.lastTransitionTime = now;
  }
}

/** The approval subresource changes conditions only. */
export function prepareCertificateSigningRequestApproval(o: Obj, old: Obj): void {
  o.spec = structuredClone(old.spec);
  const conditions = obj(o.status).conditions;
  o.status = { ...structuredClone(obj(old.status)) };
  if (isSet(conditions)) (o.status as Obj).conditions = conditions;
  else delete (o.status as Obj).conditions;
  stampConditions(o);
}

/** The status subresource keeps spec and the Approved/Denied conditions. */
export function prepareCertificateSigningRequestStatus(o: Obj, old: Obj): void {
  const st = ensureObj(o, 'status');
  // Copies: stampConditions below writes to them, and `old` may be the stored object's own.
  const decided = arr(obj(old.status).conditions)
    .filter((c) => ['Approved', 'Denied'].includes(str(obj(c).type)))
    .map((c) => ({ ...obj(c) }));
  const rest = arr(st.conditions).filter((c) => !['Approved', 'Denied'].includes(str(obj(c).type)));
  if (decided.length || rest.length) st.conditions = [...decided, ...rest];
  stampConditions(o);
}

export function validateRuntimeClass(o: Obj): Cause[] {
  const out = validateObjectMetaGeneric(o.metadata, false, nameIsDNSSubdomain);
  const handler = str(o.handler);
  if (!handler) out.push(required('handler'));
  else for (const m of isDNS1123Label(handler)) out.push(invalid('handler', handler, m));
  return out;
}

export function validateRuntimeClassUpdate(o: Obj, old: Obj): Cause[] {
  const out = validateRuntimeClass(o);
  if (str(o.handler) !== str(old.handler)) out.push(invalid('handler', o.handler, 'field is immutable'));
  if (!semanticEqual(o.overhead, old.overhead)) out.push(invalid('overhead', o.overhead, 'field is immutable'));
  return out;
}

// ---- admission ----------------------------------------------------------------------------------

const CSR_GROUP = 'certificates.k8s.io';

function isCSR(req: AdmissionRequest): boolean {
  return req.resource.group === CSR_GROUP && req.resource.plural === 'certificatesigningrequests';
}

function forbiddenCSR(req: AdmissionRequest, why: string): StatusError {
  return new StatusError(403, 'Forbidden', `${qualifiedResource(CSR_GROUP, 'certificatesigningrequests')} "${req.name}" is forbidden: ${why}`, {
    name: req.name,
    group: CSR_GROUP,
    kind: 'certificatesigningrequests',
  });
}

/**
 * The requester's identity on create (upstream's strategy PrepareForCreate), and the
 * CertificateApproval / CertificateSigning plugins: approving or denying needs `approve`,
 * issuing a certificate needs `sign`, on `signers` named by the signerName (or its
 * `domain/*` wildcard).
 */
export function certificatesAdmission(authorize: (a: RequestAttributes) => Decision): AdmissionPlugin {
  const allowed = (req: AdmissionRequest, verb: string, signer: string): boolean => {
    const ask = (name: string) =>
      authorize({ user: req.user, verb, resourceRequest: true, path: '', apiGroup: CSR_GROUP, apiVersion: '*', resource: 'signers', subresource: '', namespace: '', name }).decision === 'allow';
    return ask(signer) || ask(`${signer.split('/')[0]}/*`);
  };
  return {
    name: 'CertificateSigningRequest',
    admit(req) {
      if (!isCSR(req) || req.operation !== 'CREATE' || !req.object) return;
      const spec = ensureObj(req.object as Obj, 'spec');
      spec.username = req.user.name;
      if (req.user.uid) spec.uid = req.user.uid;
      else delete spec.uid;
      spec.groups = [...req.user.groups];
      if (req.user.extra && Object.keys(req.user.extra).length) spec.extra = structuredClone(req.user.extra);
      else delete spec.extra;
    },
    validate(req) {
      if (!isCSR(req) || req.operation !== 'UPDATE' || !req.object || !req.oldObject) return;
      const signer = str(obj((req.object as KubeObject).spec).signerName);
      if (req.subresource === 'approval') {
        const decided = (o: KubeObject | undefined) => JSON.stringify(arr(obj(o?.status).conditions).filter((c) => ['Approved', 'Denied'].includes(str(obj(c).type))).map((c) => str(obj(c).type)));
        if (decided(req.object) !== decided(req.oldObject) && !allowed(req, 'approve', signer)) {
          throw forbiddenCSR(req, `user not permitted to approve requests with signerName "${signer}"`);
        }
      } else if (req.subresource === 'status') {
        const cert = (o: KubeObject | undefined) => str(obj(o?.status).certificate);
        if (cert(req.object) !== cert(req.oldObject) && !allowed(req, 'sign', signer)) {
          throw forbiddenCSR(req, `user not permitted to sign requests with signerName "${signer}"`);
        }
      }
    },
  };
}
