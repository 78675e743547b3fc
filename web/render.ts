/**
 * The board's pieces as DOM: sign-in choices, match cards, the scoreboard of one match, the
 * action forms a role has, and event-log lines. Every piece is built from data; nothing here
 * talks to the server.
 */
import type { DemoUser } from '../demo/board-config.js'
import type { Match, Tournament } from '../schemas/common.js'
import { h } from './dom.js'
import { ACTIONS, ROLE_HINTS, STATE_LABELS, clock, formatPrize, matchTitle, scoreOf, type Action, type ActionType, type Names } from './model.js'

export function roleBadge (role: string): HTMLElement {
  return h('span', { class: 'role', 'data-role': role }, role)
}

/** One sign-in button per membership of each demo user. */
export function userChoices (users: readonly DemoUser[], tournaments: readonly Tournament[], pick: (user: DemoUser, tournamentId: string) => void): HTMLElement[] {
  const several = tournaments.length > 1
  const tournamentName = (id: string): string => tournaments.find((t) => t.id === id)?.name ?? id
  return users.flatMap((user) => user.memberships.map((m) => h('li', {},
    h('button', { type: 'button', 'data-user': user.id, onclick: () => pick(user, m.tournamentId) },
      h('span', { class: 'user-name' }, user.name),
      roleBadge(m.role),
      h('span', { class: 'user-id' }, ROLE_HINTS[m.role]),
      several && h('span', { class: 'user-id' }, tournamentName(m.tournamentId))))))
}

function stateBadge (match: Match): HTMLElement {
  return h('span', { class: 'state', 'data-state': match.state }, STATE_LABELS[match.state])
}

/** The winner to crown: only a final match has one (a disputed one keeps its winner id until it is finalized again). */
function crowned (match: Match, participant: string): boolean {
  return match.state === 'completed' && match.winnerId === participant
}

function footer (match: Match): string {
  if (match.state === 'disputed') return 'Result disputed'
  if (match.state === 'completed' && match.completedAt !== undefined) return `Final at ${clock(match.completedAt)}`
  if (match.startedAt !== undefined) return `Started ${clock(match.startedAt)}`
  return 'Not started'
}

/** A match card of the board: a link to the match, with state, scores, winner and prize. */
export function matchCard (match: Match, names: Names): HTMLElement {
  const label = `${matchTitle(match, names)}, ${STATE_LABELS[match.state]}, ` +
    match.participants.map((p) => `${names(p)} ${scoreOf(match.scores, p)}`).join(', ') +
    (match.state === 'completed' && match.winnerId !== null ? `, winner ${names(match.winnerId)}` : '')
  return h('li', {},
    h('a', { class: 'card', href: `#/matches/${encodeURIComponent(match.id)}`, 'data-match': match.id, 'data-state': match.state, 'aria-label': label },
      h('div', { class: 'card-head' }, h('span', {}, `Match ${match.id}`), stateBadge(match)),
      ...match.participants.map((p) => h('div', { class: `line${crowned(match, p) ? ' won' : ''}`, 'data-player': p },
        h('span', { class: 'name' }, names(p)), h('span', { class: 'pts' }, scoreOf(match.scores, p)))),
      h('div', { class: 'card-foot' }, h('span', {}, footer(match)), match.prize !== undefined && h('span', {}, `Prize ${formatPrize(match.prize)}`))))
}

/** The big score line of one match: each side's name, score and the winner mark. */
export function versus (match: Match, names: Names): Node[] {
  const side = (p: string): HTMLElement => h('div', { class: `side${crowned(match, p) ? ' won' : ''}`, 'data-player': p },
    h('span', { class: 'name' }, names(p)),
    h('span', { class: 'pts', 'aria-label': `${names(p)}: ${scoreOf(match.scores, p)}` }, scoreOf(match.scores, p)),
    h('span', { class: 'tag' }, crowned(match, p) ? 'WINNER' : ''))
  const sides = match.participants.map(side)
  return sides.length === 2 ? [sides[0]!, h('span', { class: 'dash', 'aria-hidden': 'true' }, '–'), sides[1]!] : sides
}

export function matchMeta (match: Match): string {
  return [footer(match), match.prize !== undefined && `Prize ${formatPrize(match.prize)}`].filter(Boolean).join(' · ')
}

/** Sends a command; resolves once the server answered: `true` when it applied it (the form is disabled meanwhile). */
export type Send = (command: Action) => Promise<boolean>

function reasonField (id: string, label: string): HTMLElement {
  return h('div', { class: 'field grow' }, h('label', { for: id }, label),
    h('input', { id, name: 'reason', type: 'text', required: true, maxlength: 500, autocomplete: 'off' }))
}

function scoreFields (prefix: string, match: Match, names: Names): HTMLElement[] {
  return match.participants.map((p) => h('div', { class: 'field' },
    h('label', { for: `${prefix}-${p}` }, names(p)),
    h('input', { id: `${prefix}-${p}`, name: p, type: 'number', min: 0, max: 1_000_000_000, step: 1, required: true, value: scoreOf(match.scores, p), 'data-score': p })))
}

function readScores (form: HTMLFormElement): Record<string, number> {
  return Object.fromEntries([...form.querySelectorAll<HTMLInputElement>('input[data-score]')].map((i) => [i.dataset.score!, Number(i.value)]))
}

/** A `<form>` holding one action: submitting it sends `command(form)`, with the form disabled until the reply. */
function actionForm (type: ActionType, send: Send, command: (form: HTMLFormElement) => Action, ...fields: Node[]): HTMLFormElement {
  const form = h('form', { class: 'action-form', 'data-action': type })
  const submit = h('button', { type: 'submit', class: type === 'match.cancel' || type === 'match.dispute' ? 'danger' : type === 'match.finalize' ? 'go' : '' }, ACTIONS[type].label)
  form.append(h('fieldset', { class: 'action' }, h('legend', {}, ACTIONS[type].label), ...fields, submit))
  // An edited form keeps what the user typed; an untouched one follows the live scores.
  form.addEventListener('input', () => { form.dataset.dirty = 'true' })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    // Busy, not disabled: a disabled button would drop the keyboard focus.
    if (submit.getAttribute('aria-disabled') === 'true') return
    submit.setAttribute('aria-disabled', 'true')
    send(command(form)).then((applied) => {
      if (applied) delete form.dataset.dirty
      submit.removeAttribute('aria-disabled')
    })
  })
  return form
}

/** The live score stepper of an organizer: −/+ per participant, each click sends the new scores. */
function scoreStepper (match: Match, names: Names, step: (participant: string, by: number) => void): HTMLElement {
  return h('fieldset', { class: 'action', 'data-action': 'score.update' }, h('legend', {}, ACTIONS['score.update'].label),
    ...match.participants.map((p) => h('div', { class: 'stepper', role: 'group', 'aria-label': `${names(p)}'s score` },
      h('span', { class: 'who-pts' }, names(p)),
      h('div', { class: 'step-row' },
        h('button', { type: 'button', class: 'step', 'aria-label': `${names(p)} minus one`, 'data-step': `${p}:-1`, onclick: () => step(p, -1) }, '−1'),
        h('span', { class: 'pts', 'data-live-score': p }, scoreOf(match.scores, p)),
        h('button', { type: 'button', class: 'step', 'aria-label': `${names(p)} plus one`, 'data-step': `${p}:1`, onclick: () => step(p, 1) }, '+1')))))
}

/** The forms of `actions`, in table order. */
export function actionForms (actions: readonly ActionType[], match: Match, names: Names, send: Send, step: (participant: string, by: number) => void): Node[] {
  const forms: Record<ActionType, () => Node> = {
    'match.start': () => actionForm('match.start', send, () => ({ type: 'match.start' })),
    'score.update': () => scoreStepper(match, names, step),
    'match.finalize': () => actionForm('match.finalize', send, (form) => {
      const winner = form.querySelector('select')!.value
      return { type: 'match.finalize', scores: readScores(form), ...(winner !== '' && { winnerId: winner }) }
    }, ...scoreFields('final', match, names), h('div', { class: 'field' }, h('label', { for: 'final-winner' }, 'Winner'),
      h('select', { id: 'final-winner', name: 'winner' }, h('option', { value: '' }, 'Highest score'),
        ...match.participants.map((p) => h('option', { value: p }, names(p)))))),
    'match.cancel': () => actionForm('match.cancel', send, (form) => ({ type: 'match.cancel', reason: form.querySelector('input')!.value }),
      reasonField('cancel-reason', 'Reason')),
    'result.report': () => actionForm('result.report', send, (form) => ({ type: 'result.report', scores: readScores(form) }),
      ...scoreFields('report', match, names)),
    'match.dispute': () => actionForm('match.dispute', send, (form) => ({ type: 'match.dispute', reason: form.querySelector('input')!.value }),
      reasonField('dispute-reason', 'What is wrong'))
  }
  return actions.map((type) => forms[type]())
}

/** One line of the event log. */
export function logLine (kind: string, at: string, tag: string, text: string): HTMLElement {
  return h('li', { 'data-kind': kind }, h('time', { datetime: at }, clock(at)), h('span', { class: 'what' }, tag !== '' && h('span', { class: 'tag' }, tag), text))
}
