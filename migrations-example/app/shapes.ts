// The rows each app version writes. v1 is the old shape the migrations evolve; v2 the new one.
import { canonicalStatus } from './catalog.ts'
import { normaliseBody } from './text.ts'

export type AppVersion = 'v1' | 'v2'

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Leslie']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Lamport']
const PLACES = [
  ['Paris', 'FR'],
  ['Lyon', 'FR'],
  ['Berlin', 'DE'],
  ['Oslo', 'NO'],
  ['Lima', 'PE'],
  ['Osaka', 'JP'],
] as const
const V1_STATUSES = ['Published', 'published ', 'DRAFT', 'draft', 'live', 'Archived', 'wip', 'published']
const TOPICS = ['onboarding', 'holiday rota', 'coffee machine', 'quarterly goals', 'security training', 'team offsite', 'parking']

const pick = <T>(list: readonly T[], i: number): T => list[Math.abs(i) % list.length]!

export function userRow(i: number, version: AppVersion) {
  const first = pick(FIRST, i)
  const last = pick(LAST, i * 7 + 3)
  const [city, country] = pick(PLACES, i * 3 + 1)
  const base = { email: `${first}.${last}${i}@example.com`.toLowerCase(), first_name: first, last_name: last, bio: `member #${i}` }
  if (version === 'v1') return { ...base, profile_json: JSON.stringify({ city, country, website: `https://example.com/~${i}` }) }
  return { ...base, display_name: `${first} ${last}`, city, country }
}

export function documentRow(i: number, authorId: number, version: AppVersion) {
  const status = pick(V1_STATUSES, i * 5 + 2)
  return {
    author_id: authorId,
    title: `Notes on ${pick(TOPICS, i)} #${i}`,
    body: `Everything about ${pick(TOPICS, i * 3)} and ${pick(TOPICS, i * 11 + 1)}, written by member ${authorId}.`,
    status: version === 'v1' ? status : canonicalStatus(status),
  }
}

export function commentRow(i: number, documentId: number, authorId: number, version: AppVersion) {
  // v1 kept the textarea's text as sent: Windows line breaks, stray blanks; v2 normalises it.
  const typed = ` Comment ${i}:  thanks,\r\nvery useful. `
  return { document_id: documentId, author_id: authorId, body: version === 'v1' ? typed : normaliseBody(typed) }
}
