/** Test helper: runs `fn`, expects it to throw a FleetdockError, and returns it (for asserting its code). */
import { expect } from 'vitest';
import { FleetdockError } from '../../protocol/errors.js';

export function thrown(fn: () => unknown): FleetdockError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FleetdockError);
    return error as FleetdockError;
  }
  throw new Error('expected a FleetdockError, nothing was thrown');
}
