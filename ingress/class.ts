// The IngressClass kite's ingress controller serves, created at bootstrap as the
// cluster's default (Ingresses without a class are defaulted to it by the API server
// and are served by kite too).
import type { IngressClass } from 'kubernetes-types/networking/v1.js';

export const INGRESS_CLASS = 'kite';
export const INGRESS_CONTROLLER = 'kite.dev/ingress-controller';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export function defaultIngressClass(): IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: INGRESS_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
    spec: { controller: INGRESS_CONTROLLER },
  };
}
