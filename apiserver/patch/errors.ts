// The Status errors the patch paths produce, shaped as upstream's API server shapes
// them (k8s.io/apiserver/pkg/endpoints/handlers/patch.go and apimachinery errors).

import { StatusError, badRequest, invalid, type StatusCause } from '../../machinery/status.js';

/**
 * errors.NewGenericServerResponse(422, ...) with no resource: upstream drops the
 * underlying message, so a failed json-patch `test` (or any other json-patch
 * application failure) reads exactly this.
 */
export function unprocessable(): StatusError {
  return new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

/**
 * A plain Go error that reached the handler without being a Status: upstream answers
 * 500 with an empty reason and the raw message.
 */
export function rawServerError(message: string): StatusError {
  const err = new StatusError(500, '', message);
  delete (err.status as { reason?: string }).reason;
  return err;
}

export function requestEntityTooLarge(message: string): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);
}

export { badRequest };

/** `"" is invalid: patch: Invalid value: "<json>": <detail>` (422), for an undecodable patch result. */
export function invalidPatchResult(patched: string, detail: string): StatusError {
  const cause: StatusCause = { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(patched)}: ${detail}`, field: 'patch' };
  return invalid('', '', '', [cause]);
}

/** `PatchOptions.meta.k8s.io "" is invalid: [...]` (422). */
export function invalidPatchOptions(causes: StatusCause[]): StatusError {
  return invalid('meta.k8s.io', 'PatchOptions', '', causes);
}

/** 415 for a patch Content-Type the resource does not accept. */
export function unsupportedPatchMediaType(accepted: readonly string[]): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}
