import { migration001 } from './001_initial.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** In order; a migration is never edited once released, only followed by a new one. */
export const migrations: readonly Migration[] = [migration001];
