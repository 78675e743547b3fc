/**
 * The live match board (SPEC section 11), built on `matchcast/client`: sign in as a demo user,
 * watch the tournament's matches live (`#/`), open one (`#/matches/<id>`) and act by role. One
 * room is open at a time: the tournament room on the board, the match room on a match.
 */
import { connect, type MatchcastError } from '../client/index.js'
import type { BoardConfig, DemoUser, TokenResponse } from '../demo/board-config.js'
import type { Match, Role } from '../schemas/common.js'
import type { MatchEvent } from '../schemas/events.js'
import { byId, fill, firstFocusable, h } from './dom.js'
import { ACTIONS, STATE_LABELS, ScoreDraft, availableActions, describeEvent, matchTitle, scoreOf, stateCounts, type Action, type Names } from './model.js'
import { actionForms, logLine, matchCard, matchMeta, roleBadge, userChoices, versus } from './render.js'
import { ERROR_TEXT, StatusLight } from './status.js'

const SESSION_KEY = 'matchcast.board.session'
const LOG_LIMIT = 200

interface Session { userId: string, tournamentId: string }

const config = await (await fetch('/demo/config')).json() as BoardConfig
const users = new Map(config.users.map((u) => [u.id, u]))
const names: Names = (id) => users.get(id)?.name ?? id
const tournamentName = (id: string): string => config.tournaments.find((t) => t.id === id)?.name ?? id
const status = new StatusLight(byId('status'), (text) => log('connection', new Date().toISOString(), '', text))

let session = readSession()
let client: ReturnType<typeof connect> | undefined
let view: { key: string, close: () => void } | undefined

/** This tab's sign-in, if it names a user and tournament the seed still has. */
function readSession (): Session | undefined {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null
    const user = parsed === null ? undefined : users.get(parsed.userId)
    return user?.memberships.some((m) => m.tournamentId === parsed!.tournamentId) === true ? parsed! : undefined
  } catch {
    return undefined
  }
}

async function token (userId: string): Promise<string> {
  const res = await fetch('/demo/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) })
  if (!res.ok) throw new Error(`sign-in refused (${res.status})`)
  return (await res.json() as TokenResponse).token
}

function log (kind: string, at: string, tag: string, text: string): void {
  const list = byId('log')
  list.prepend(logLine(kind, at, tag, text))
  while (list.childElementCount > LOG_LIMIT) list.lastElementChild!.remove()
}

function logEvent (event: MatchEvent, match: Match | undefined): void {
  const { tag, text } = describeEvent(event, match, names)
  log(event.type, event.ts, tag, text)
}

function show (id: 'sign-in' | 'board' | 'match'): void {
  for (const v of ['sign-in', 'board', 'match']) byId(v).hidden = v !== id
}

// --- sign-in ------------------------------------------------------------------------------------

function signIn (user: DemoUser, tournamentId: string): void {
  session = { userId: user.id, tournamentId }
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session))
  location.hash = '#/'
  route(true)
}

function signOut (): void {
  sessionStorage.removeItem(SESSION_KEY)
  session = undefined
  route(true)
}

function renderSignIn (): void {
  show('sign-in')
  byId('who').hidden = true
  byId('title').textContent = 'Live match board'
  document.title = 'matchcast · live board'
  status.set('idle')
  if (!config.signIn) {
    byId('sign-in-hint').textContent = 'Demo sign-in is off on this server (it uses its own JWT secret). Start it with MATCHCAST_DEMO_SIGN_IN=true to allow it.'
    fill(byId('users'))
    return
  }
  fill(byId('users'), ...userChoices(config.users, config.tournaments, signIn))
}

// --- the board: every match of the tournament -----------------------------------------------------

function openBoard (c: ReturnType<typeof connect>, s: Session): () => void {
  const room = c.tournament(s.tournamentId)
  const matches = (): readonly Match[] => room.state
  const render = (): void => {
    const list = matches()
    byId('counts').textContent = stateCounts(list)
    fill(byId('cards'), ...list.map((m) => matchCard(m, names)))
  }
  room.on('status', (next) => status.set(next))
  let first = true
  room.on('snapshot', (snapshot) => {
    if (snapshot.resync === true) status.resynced()
    render()
    if (first) log('connection', new Date().toISOString(), '', `Watching ${tournamentName(s.tournamentId)}: ${stateCounts(matches()) || 'no matches'}`)
    first = false
  })
  room.on('event', (event) => {
    logEvent(event, matches().find((m) => m.id === event.matchId))
    render()
  })
  room.on('error', (err) => status.failed(err))
  return () => room.close()
}

// --- one match ------------------------------------------------------------------------------------

function openMatch (c: ReturnType<typeof connect>, s: Session, matchId: string): () => void {
  const room = c.match(matchId)
  let role: Role = 'spectator'
  let shape = ''
  const draft = new ScoreDraft()

  const send = async (command: Action): Promise<boolean> => {
    const feedback = byId('feedback')
    try {
      await room.send(command)
      feedback.dataset.kind = 'ok'
      feedback.textContent = ACTIONS[command.type].done
      return true
    } catch (err) {
      feedback.dataset.kind = 'error'
      feedback.textContent = ERROR_TEXT[(err as MatchcastError).code] ?? (err as Error).message
      return false
    }
  }
  const step = (participant: string, by: number): void => {
    const match = room.state
    if (match === undefined) return
    const scores = draft.step(match.participants, match.scores, participant, by)
    render()
    send({ type: 'score.update', scores }).then((applied) => {
      // A refused score is not coming back as an event: show the room's again.
      if (!applied) draft.reset()
      render()
    })
  }

  const render = (): void => {
    const match = room.state
    if (match === undefined) return
    byId('scoreboard').dataset.state = match.state
    const state = byId('match-state')
    state.dataset.state = match.state
    state.textContent = STATE_LABELS[match.state]
    fill(byId('versus'), ...versus(match, names))
    byId('match-meta').textContent = matchMeta(match)
    document.title = `${matchTitle(match, names)} · ${tournamentName(s.tournamentId)}`

    const actions = availableActions(match, role, s.userId)
    const forms = byId('action-forms')
    if (`${role}|${actions.join()}` !== shape) {
      // The actions changed (a new state): rebuild them, keeping the keyboard user inside the panel.
      const hadFocus = forms.contains(document.activeElement)
      shape = `${role}|${actions.join()}`
      byId('actions-title').textContent = role === 'organizer' ? 'Organizer actions' : role === 'participant' ? 'Your actions' : 'Actions'
      fill(forms, ...actions.length > 0
        ? actionForms(actions, match, names, send, step)
        : [h('p', { class: 'watching' }, role === 'organizer' || (role === 'participant' && match.participants.includes(s.userId))
            ? `No actions while the match is ${STATE_LABELS[match.state].toLowerCase()}.`
            : 'You are watching this match.')])
      if (hadFocus) (firstFocusable(forms) ?? byId('actions-title')).focus()
    }
    for (const el of forms.querySelectorAll<HTMLElement>('[data-live-score]')) {
      el.textContent = String(scoreOf(draft.shown(match.scores), el.dataset.liveScore!))
    }
    for (const form of forms.querySelectorAll<HTMLFormElement>('form:not([data-dirty])')) {
      for (const input of form.querySelectorAll<HTMLInputElement>('input[data-score]')) input.value = String(scoreOf(match.scores, input.dataset.score!))
    }
  }

  byId('feedback').textContent = ''
  fill(byId('action-forms'))
  byId('match-title').textContent = `Match ${matchId}`
  room.on('status', (next) => status.set(next))
  let first = true
  room.on('snapshot', (snapshot) => {
    role = snapshot.role
    draft.reset()
    if (snapshot.resync === true) status.resynced()
    render()
    if (first && room.state !== undefined) log('connection', new Date().toISOString(), '', `Opened match ${matchId}: ${matchTitle(room.state, names)}, ${STATE_LABELS[room.state.state].toLowerCase()}`)
    first = false
  })
  room.on('event', (event) => {
    const match = room.state!
    if (event.type === 'score_updated') draft.seen(match.participants, event.data.scores)
    else if (match.state !== 'live') draft.reset()
    logEvent(event, match)
    render()
  })
  room.on('error', (err) => status.failed(err))
  return () => room.close()
}

// --- routing --------------------------------------------------------------------------------------

function route (moved: boolean): void {
  if (session === undefined) {
    view?.close()
    view = undefined
    client?.close()
    client = undefined
    renderSignIn()
    return
  }
  const s = session
  const user = users.get(s.userId)!
  const membership = user.memberships.find((m) => m.tournamentId === s.tournamentId)!
  byId('who').hidden = false
  byId('who-name').textContent = user.name
  byId('who-role').replaceWith(Object.assign(roleBadge(membership.role), { id: 'who-role' }))
  byId('title').textContent = tournamentName(s.tournamentId)
  client ??= connect({ url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${config.prefix}`, token: async () => await token(s.userId) })

  const matchId = /^#\/matches\/([^/]+)$/.exec(location.hash)?.[1]
  const key = matchId === undefined ? `t:${s.tournamentId}` : `m:${decodeURIComponent(matchId)}`
  if (view?.key !== key) {
    view?.close()
    status.set('connecting')
    if (matchId === undefined) {
      show('board')
      document.title = `${tournamentName(s.tournamentId)} · matchcast`
      view = { key, close: openBoard(client, s) }
    } else {
      show('match')
      view = { key, close: openMatch(client, s, decodeURIComponent(matchId)) }
    }
  }
  if (moved) byId(matchId === undefined ? 'board-title' : 'match-title').focus()
}

byId('sign-out').addEventListener('click', signOut)
window.addEventListener('hashchange', () => route(true))
route(false)
