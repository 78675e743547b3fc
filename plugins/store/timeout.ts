import { deadline } from '../deadline.js'
import { StoreTimeoutError, type StoreTimeout } from '../errors.js'
import type { Store } from './store.js'

/**
 * `store` with every call bounded by `timeoutMs`: a call that has not settled by then rejects with
 * `MATCHCAST_ERR_STORE_TIMEOUT` (503), so a stalled database cannot hold sockets and requests.
 * The error's `pending` is the call itself, still running (a write may yet apply). Methods are
 * looked up on `store` at each call, and `close()` is not bounded.
 */
export function withStoreTimeout (store: Store, timeoutMs: number): Store {
  function call<T> (name: keyof Store, work: Promise<T>): Promise<T> {
    return deadline(work, timeoutMs, () => Object.assign(
      new StoreTimeoutError(`store.${name} did not answer within ${timeoutMs} ms`), { pending: work }) satisfies StoreTimeout)
  }
  return {
    getTournament: (id) => call('getTournament', store.getTournament(id)),
    getRole: (tournamentId, userId) => call('getRole', store.getRole(tournamentId, userId)),
    listMembers: (tournamentId) => call('listMembers', store.listMembers(tournamentId)),
    getMatch: (id) => call('getMatch', store.getMatch(id)),
    listMatches: (tournamentId) => call('listMatches', store.listMatches(tournamentId)),
    updateMatch: (id, expectedVersion, patch) => call('updateMatch', store.updateMatch(id, expectedVersion, patch)),
    completeMatch: (id, expectedVersion, patch, certificate, payout) =>
      call('completeMatch', store.completeMatch(id, expectedVersion, patch, certificate, payout)),
    getCertificate: (id) => call('getCertificate', store.getCertificate(id)),
    getCertificateByCode: (code) => call('getCertificateByCode', store.getCertificateByCode(code)),
    getCertificateByMatch: (matchId) => call('getCertificateByMatch', store.getCertificateByMatch(matchId)),
    getPayout: (id) => call('getPayout', store.getPayout(id)),
    getPayoutByMatch: (matchId) => call('getPayoutByMatch', store.getPayoutByMatch(matchId)),
    listPayouts: (tournamentId) => call('listPayouts', store.listPayouts(tournamentId)),
    setPayoutStatus: (id, from, to, reason) => call('setPayoutStatus', store.setPayoutStatus(id, from, to, reason)),
    beginIdempotent: (scope, key, fingerprint, ttlMs) => call('beginIdempotent', store.beginIdempotent(scope, key, fingerprint, ttlMs)),
    finishIdempotent: (scope, key, response) => call('finishIdempotent', store.finishIdempotent(scope, key, response)),
    abandonIdempotent: (scope, key) => call('abandonIdempotent', store.abandonIdempotent(scope, key)),
    ping: () => call('ping', store.ping()),
    close: () => store.close()
  }
}
