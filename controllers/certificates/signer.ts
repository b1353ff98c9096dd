// The CSR signing controller (upstream: pkg/controller/certificates/signer): approved
// CertificateSigningRequests for the kubernetes.io/kube-apiserver-client,
// kubernetes.io/kube-apiserver-client-kubelet and kubernetes.io/kubelet-serving signers are issued a certificate from the cluster CA
// (written to status.certificate); a request the signer's rules refuse gets a Failed
// condition instead. Requests for other signers are left to whoever serves them.
import { QueueController, type Controller } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { KubeObject } from '../../machinery/object.js';
import { parseCertificateRequest, signCertificateRequest, type CertKeyPair, type CertificateRequestInfo } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';

const CSRS = resourceByPath('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;

export const KUBE_APISERVER_CLIENT = 'kubernetes.io/kube-apiserver-client';
export const KUBELET_SERVING = 'kubernetes.io/kubelet-serving';
export const KUBE_APISERVER_CLIENT_KUBELET = 'kubernetes.io/kube-apiserver-client-kubelet';
const SIGNERS = [KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING];
/** Upstream's --cluster-signing-duration default: one year. */
const DEFAULT_DURATION_SECONDS = 365 * 24 * 3600;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface Csr extends KubeObject {
  spec?: { request?: string; signerName?: string; usages?: string[]; expirationSeconds?: number; username?: string };
  status?: { conditions?: Condition[]; certificate?: string };
}

/** Why the signer refuses the request, or undefined (upstream: the signer's validators). */
export function signerRefusal(signer: string, info: CertificateRequestInfo, usages: readonly string[]): string | undefined {
  const check = (allowed: string[], required: string, kind: string) => {
    for (const u of usages) if (!allowed.includes(u)) return `invalid usage for ${kind} certificate: ${u}`;
    if (!usages.includes(required)) return `missing required usage for ${kind} certificate: ${required}`;
    return undefined;
  };
  if (signer === KUBE_APISERVER_CLIENT) return check(['digital signature', 'key encipherment', 'client auth'], 'client auth', 'client');
  if (signer === KUBE_APISERVER_CLIENT_KUBELET) {
    // upstream's IsKubeletClientCSR rules: a node's identity and nothing else.
    if (info.organizations.length !== 1 || info.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
    if (!info.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
    if (info.dnsNames.length || info.ipAddresses.length || info.emailAddresses.length || info.uris.length) return 'subjectAltNames are not allowed';
    return check(['digital signature', 'key encipherment', 'client auth'], 'client auth', 'client');
  }
  if (signer === KUBELET_SERVING) {
    if (info.organizations.length !== 1 || info.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
    if (!info.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
    if (info.emailAddresses.length || info.uris.length) return 'email and URI subjectAltNames are not allowed';
    if (!info.dnsNames.length && !info.ipAddresses.length) return 'DNS or IP subjectAltName is required';
    return check(['digital signature', 'key encipherment', 'server auth'], 'server auth', 'serving');
  }
  return `unsupported signer ${signer}`;
}

export class CsrSigningController extends QueueController {
  readonly csrs: Informer<Csr>;
  private readonly transport: ApiTransport;

  constructor(
    ctx: ControllerContext,
    private readonly ca: CertKeyPair,
  ) {
    super({ name: 'csrsigning', workers: 1 });
    this.transport = ctx.transport;
    this.csrs = ctx.informers.informerFor<Csr>(CSRS);
    this.csrs.addEventHandler({ onAdd: (c) => this.enqueue(c.metadata!.name!), onUpdate: (_o, c) => this.enqueue(c.metadata!.name!) });
    this.requireSynced(this.csrs);
  }

  protected override async reconcile(name: string): Promise<void> {
    const csr = this.csrs.store.get(undefined, name);
    if (!csr || csr.status?.certificate) return;
    const signer = csr.spec?.signerName ?? '';
    if (!SIGNERS.includes(signer)) return;
    const conds = csr.status?.conditions ?? [];
    const has = (t: string) => conds.some((c) => c.type === t && c.status === 'True');
    if (!has('Approved') || has('Denied') || has('Failed')) return;
    const pem = Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8');
    const usages = csr.spec?.usages ?? [];
    let refusal: string | undefined;
    let info: CertificateRequestInfo | undefined;
    try {
      info = (await parseCertificateRequest(pem)).info;
    } catch (err) {
      refusal = `unable to parse csr: ${(err as Error).message}`;
    }
    refusal ??= signerRefusal(signer, info!, usages);
    const status = { ...(csr.status ?? {}) };
    if (refusal) {
      status.conditions = [...conds, { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: refusal }];
    } else {
      const seconds = Math.max(600, csr.spec?.expirationSeconds ?? DEFAULT_DURATION_SECONDS);
      const cert = await signCertificateRequest(this.ca, pem, usages, Math.min(seconds, DEFAULT_DURATION_SECONDS));
      status.certificate = Buffer.from(cert).toString('base64');
    }
    try {
      await this.transport.updateStatus<Csr>(CSRS, undefined, { ...csr, status });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) return this.enqueue(name);
      throw err;
    }
  }
}

/** The signer when the manager holds the cluster CA's key, else a controller that does nothing. */
export function newCsrSigningController(ctx: ControllerContext): Controller {
  if (!ctx.clusterSigning) return { name: 'csrsigning', start: async () => undefined, stop: async () => undefined };
  return new CsrSigningController(ctx, ctx.clusterSigning);
}
