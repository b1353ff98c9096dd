// The CSR approving controller (upstream: pkg/controller/certificates/approver, what
// kubeadm relies on for TLS bootstrapping): a kubernetes.io/kube-apiserver-client-kubelet
// request for a node identity (CN system:node:<name>, O system:nodes, no alternative
// names, client usages) is approved when its requester may create
// `certificatesigningrequests/nodeclient` (bootstrap tokens, through kubeadm's binding)
// or, for a node renewing its own certificate (requester = CN),
// `certificatesigningrequests/selfnodeclient` — asked with a SubjectAccessReview.
//
// kite also approves a node's own kubelet-serving request (requester = CN, its node
// name as the only DNS name): upstream leaves those to an administrator, but a node
// that joined with `kite join` has no other way to a serving certificate the API
// server trusts (k3s's server signs its agents' serving certificates likewise).
import { QueueController, type Controller } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import type { KubeObject } from '../../machinery/object.js';
import { parseCertificateRequest, type CertificateRequestInfo } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';
import { KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING, signerRefusal } from './signer.js';

const CSRS = resourceByPath('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;
const SARS = resourceByPath('authorization.k8s.io', 'v1', 'subjectaccessreviews')!;

interface Csr extends KubeObject {
  spec?: { request?: string; signerName?: string; usages?: string[]; username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; certificate?: string };
}

/** Which approval the request qualifies for: the subresource its requester must be allowed to create, and the message. */
export function approvalKind(csr: Csr, info: CertificateRequestInfo): { subresource: string; message: string } | undefined {
  const signer = csr.spec?.signerName;
  const usages = csr.spec?.usages ?? [];
  if (signer === KUBE_APISERVER_CLIENT_KUBELET) {
    if (signerRefusal(signer, info, usages)) return undefined;
    if (info.commonName === csr.spec?.username) return { subresource: 'selfnodeclient', message: 'Auto approving self kubelet client certificate after SubjectAccessReview.' };
    return { subresource: 'nodeclient', message: 'Auto approving kubelet client certificate after SubjectAccessReview.' };
  }
  if (signer === KUBELET_SERVING) {
    if (signerRefusal(signer, info, usages) || info.commonName !== csr.spec?.username) return undefined;
    const node = info.commonName.slice('system:node:'.length);
    if (info.dnsNames.some((d) => d !== node)) return undefined;
    return { subresource: 'selfnodeclient', message: 'Auto approving kubelet serving certificate of the requesting node.' };
  }
  return undefined;
}

export class CsrApprovingController extends QueueController {
  readonly csrs: Informer<Csr>;
  private readonly transport: ApiTransport;

  constructor(ctx: ControllerContext) {
    super({ name: 'csrapproving', workers: 1 });
    this.transport = ctx.transport;
    this.csrs = ctx.informers.informerFor<Csr>(CSRS);
    this.csrs.addEventHandler({ onAdd: (c) => this.enqueue(c.metadata!.name!), onUpdate: (_o, c) => this.enqueue(c.metadata!.name!) });
    this.requireSynced(this.csrs);
  }

  protected override async reconcile(name: string): Promise<void> {
    const csr = this.csrs.store.get(undefined, name);
    if (!csr || csr.status?.certificate) return;
    if ((csr.status?.conditions ?? []).some((c) => c.type === 'Approved' || c.type === 'Denied')) return;
    let info: CertificateRequestInfo;
    try {
      info = (await parseCertificateRequest(Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8'))).info;
    } catch {
      return; // the signer marks it Failed
    }
    const kind = approvalKind(csr, info);
    if (!kind) return;
    const review = await this.transport.create<KubeObject & { status?: { allowed?: boolean } }>(SARS, undefined, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: {
        user: csr.spec?.username,
        uid: csr.spec?.uid,
        groups: csr.spec?.groups,
        extra: csr.spec?.extra,
        resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verb: 'create', subresource: kind.subresource },
      },
    } as KubeObject);
    if (!review.status?.allowed) return;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const approved = {
      ...csr,
      status: { ...(csr.status ?? {}), conditions: [...(csr.status?.conditions ?? []), { type: 'Approved', status: 'True', reason: 'AutoApproved', message: kind.message, lastUpdateTime: now, lastTransitionTime: now }] },
    };
    try {
      await this.transport.update<Csr>(CSRS, undefined, approved, { subresource: 'approval' });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) return this.enqueue(name);
      throw err;
    }
  }
}

export function newCsrApprovingController(ctx: ControllerContext): Controller {
  return new CsrApprovingController(ctx);
}
