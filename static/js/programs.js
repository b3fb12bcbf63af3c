// The lineup as every page reads it: the programs of GET /api/programs, a program's title in the
// reader's language, and which of two copies of a program is the older one.
import { get } from './api.js';
import * as i18n from './i18n.js';

/** The English title in English mode when there is one; the Korean title otherwise. */
export function title(program) {
  return i18n.currentLang() === 'en' && program.title_en ? program.title_en : program.title;
}

/** The whole lineup, ordered by `starts_at` (`{"programs": [...]}` of GET /api/programs). */
export async function fetchPrograms() {
  const data = await get('/api/programs');
  return data.programs;
}

/**
 * A loader to call now and then: each call fetches the lineup, calls `onChange(programs)` when
 * it differs from the last one loaded (so pages re-render only on a change), and answers the
 * programs. Errors reach the caller.
 */
export function lineupLoader(onChange) {
  let last = null;
  return async () => {
    const programs = await fetchPrograms();
    const json = JSON.stringify(programs);
    if (json !== last) {
      last = json;
      onChange(programs);
    }
    return programs;
  };
}

const STATE_ORDER = ['scheduled', 'lobby', 'live', 'ended', 'replay'];

/**
 * Whether `incoming` is older than `current` (two copies of one program): a lower version, or the
 * same version at an earlier state. A program's events can arrive out of order (e.g. "replay"
 * just before "ended").
 */
export function isStale(current, incoming) {
  if (!current || !incoming) return false;
  if (incoming.version !== current.version) return incoming.version < current.version;
  return STATE_ORDER.indexOf(incoming.state) < STATE_ORDER.indexOf(current.state);
}
