import { PermissionViolationError } from '@nats-io/transport-node';
import { RetryableError, type ServiceRuntime, type Stores } from '@pipewright/kit';

/**
 * The run store, read-only for the console. Its buckets (the `pw_runs` KV bucket, the `pw_blobs`
 * object store) are the planner's to create: the console's bus role may not create the object store,
 * so before the planner has made it, opening is refused — a wait (retried at start-up), not a failure.
 */
export async function openConsoleStores(rt: ServiceRuntime): Promise<Stores> {
  try {
    return await rt.stores();
  } catch (err) {
    if (causedBy(err, PermissionViolationError)) throw new RetryableError('the run store does not exist yet (the planner creates it): waiting', undefined, { cause: err });
    throw err;
  }
}

function causedBy(err: unknown, type: typeof PermissionViolationError): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof type) return true;
    e = e.cause;
  }
  return false;
}
