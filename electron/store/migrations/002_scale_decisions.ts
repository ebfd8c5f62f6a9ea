/**
 * Scale decisions belong to the run they shaped: the monitor's choice of scale and its reason,
 * from the media time it took effect, so a transcript can say why a stretch was coarser.
 */
export const migration002 = {
  version: 2,
  name: 'scale decisions',
  sql: `
create table scale_decisions (
  id integer primary key,
  run_id integer not null references runs(id) on delete cascade,
  from_seconds real not null,
  scale_id text not null,
  reason text not null,
  decided_at text not null
);
create index scale_decisions_by_run on scale_decisions(run_id, from_seconds);
`,
};
