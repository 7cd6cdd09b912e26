// The three ways upstream's patch handler reports a patch that cannot be applied. Which one a
// failure gets decides the HTTP code kubectl shows, so each call site names upstream's choice.
import { StatusError, badRequest } from '../errors.ts';

export { badRequest };

/**
 * 422 as upstream's NewGenericServerResponse builds it for a failed JSON patch or an SMP
 * list-of-lists/retainKeys mismatch: the library's own message is not sent to the client, only
 * the generic sentence. `detail` is kept as the Error's cause for logs and tests.
 */
export function patchRejected(detail: string): StatusError {
  const err = new StatusError({
    reason: 'Invalid',
    code: 422,
    message: 'the server rejected our request due to an error in our request',
    details: {},
  });
  err.cause = detail;
  return err;
}

/** A plain Go error reaching the handler: upstream answers 500 with an empty reason and the text. */
export function serverError(message: string): StatusError {
  return new StatusError({ code: 500, message });
}
