import type { WriteConcernSettings } from 'mongodb';
import type { DurabilityProfile } from '../types.js';

/**
 * What a profile asks of MongoDB before a write is acknowledged. `default`: a majority of the replica
 * set has it (survives losing the primary), journaled as the server's `writeConcernMajorityJournalDefault`
 * says. `strict`: also in the on-disk journal of each of them (survives every node losing power at once).
 */
export function writeConcernFor(profile: DurabilityProfile): WriteConcernSettings {
  return profile === 'strict' ? { w: 'majority', journal: true } : { w: 'majority' };
}
