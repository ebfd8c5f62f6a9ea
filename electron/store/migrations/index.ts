import { migration001 } from './001_initial.js';
import { migration002 } from './002_scale_decisions.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** In order; a migration is never edited once released, only followed by a new one. */
export const migrations: readonly Migration[] = [migration001, migration002];
