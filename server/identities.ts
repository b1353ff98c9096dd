// The in-process identities of the control plane's own clients.
import type { UserInfo } from '../apiserver/context.js';
import { APISERVER_USER, CONTROLLER_MANAGER_USER, GROUP_AUTHENTICATED, GROUP_MASTERS, SCHEDULER_USER } from '../machinery/identities.js';

export const COMPONENT_USERS = {
  apiserver: { name: APISERVER_USER, groups: [GROUP_MASTERS, GROUP_AUTHENTICATED] } as UserInfo,
  controllerManager: { name: CONTROLLER_MANAGER_USER, groups: [GROUP_AUTHENTICATED] } as UserInfo,
  scheduler: { name: SCHEDULER_USER, groups: [GROUP_AUTHENTICATED] } as UserInfo,
};

/** A service account as the token authenticator would present it. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return { name: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, GROUP_AUTHENTICATED] };
}
